"""Hear a piece: SoundFont lookup, synthesis with FluidSynth, and WAV files.

    >>> import musicgen
    >>> audio = musicgen.render_audio(piece)            # float32 (n_samples, 2), 44100 Hz, peak -1 dBFS
    >>> musicgen.audio.write_wav(audio, "piece.wav")

Synthesis
---------
FluidSynth (the reference SoundFont 2 synthesiser) through its C library ``libfluidsynth``, called with
:mod:`ctypes` (no Python package needed; Debian/Ubuntu: ``apt install libfluidsynth3``, macOS:
``brew install fluid-synth``). Every non-drum track plays the violin patch (General MIDI program 40,
0-based) unless asked otherwise; drum tracks play the SoundFont's drum kit (bank 128). Note-on and
note-off events are applied at their own sample (FluidSynth applies them within its 64-sample block,
1.5 ms at 44.1 kHz); velocity shapes loudness through the SoundFont's default velocity modulators, so a
pianissimo passage comes out quieter than a forte one. Reverb is on (FluidSynth's default room), chorus
off.

Why not symusic's ``Synthesizer`` (the MIDI library this package already uses)? In symusic 0.6.0 its
``render`` raises "TypeError: Unable to convert function return value to a Python type" whatever the
numpy version (the binding lost its Eigen type caster); 0.5.9 works but plays no release (a note stops
dead at its note-off), and pinning it would hold back the MIDI reader. FluidSynth plays each note's
release and the reverb tail.

Length and level
----------------
The audio starts at the piece's time 0 and lasts until the last note-off (following the piece's tempo
map) plus the release tail: rendering goes on for up to :data:`MAX_TAIL_S` seconds after the last
note-off and the result is cut after the last sample louder than :data:`TAIL_FLOOR_DB` below the peak.
The whole is then scaled so that its peak is :data:`PEAK_DBFS` (-1 dBFS): normalised, never clipped.

SoundFont lookup
----------------
:func:`find_soundfont`: an explicit path, else the ``MUSICGEN_SOUNDFONT`` environment variable, else the
first ``.sf2``/``.sf3`` file in the standard folders (:data:`SOUNDFONT_DIRS`), where Debian's
``timgm6mb-soundfont``, ``fluid-soundfont-gm`` and ``musescore-general-soundfont-small`` put theirs.
Nothing is ever downloaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen._files import atomic_write_bytes
from musicgen.errors import InputError, UsageError
from musicgen.piece import VIOLIN_PROGRAM, Piece

__all__ = [
    "AudioError",
    "AudioInfo",
    "MAX_TAIL_S",
    "PEAK_DBFS",
    "SAMPLE_RATE",
    "SOUNDFONT_DIRS",
    "SOUNDFONT_ENV",
    "SOUNDFONT_PACKAGES",
    "find_soundfont",
    "note_seconds",
    "performance_seconds",
    "render_audio",
    "render_wav",
    "synthesizer_version",
    "wav_bytes",
    "write_wav",
]

#: Output sample rate in Hz.
SAMPLE_RATE = 44100
#: Peak level of the normalised audio, in dB relative to full scale.
PEAK_DBFS = -1.0
#: Longest release/reverb tail rendered after the last note-off, in seconds.
MAX_TAIL_S = 2.0
#: The tail is cut after the last sample louder than this, in dB below the peak.
TAIL_FLOOR_DB = -60.0
#: Environment variable naming a SoundFont file (used when no path is given).
SOUNDFONT_ENV = "MUSICGEN_SOUNDFONT"
#: Folders searched for a SoundFont, in order (Debian's packages install into the first two).
SOUNDFONT_DIRS: tuple[str, ...] = (
    "/usr/share/sounds/sf2",
    "/usr/share/sounds/sf3",
    "/usr/share/soundfonts",
    "/usr/local/share/soundfonts",
    "/opt/homebrew/share/soundfonts",
    "~/.local/share/soundfonts",
    "~/.local/share/sounds/sf2",
)
#: Debian/Ubuntu packages that install a General MIDI SoundFont into :data:`SOUNDFONT_DIRS`
#: (smallest first: 6 MB, 30 MB and 140 MB).
SOUNDFONT_PACKAGES = ("timgm6mb-soundfont", "musescore-general-soundfont-small", "fluid-soundfont-gm")
#: File names preferred within a folder (Debian's default-GM alternative first).
_PREFERRED = ("default-GM.sf2", "default-GM.sf3", "default.sf2", "TimGM6mb.sf2", "FluidR3_GM.sf2")

_SUFFIXES = (".sf2", ".sf3")
_DRUM_CHANNEL = 9


class AudioError(UsageError):
    """Audio cannot be made on this machine: no SoundFont, or no FluidSynth library (exit status 2).

    The message is one line that says what to install or pass.
    """


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`render_wav` wrote.

    Attributes:
        path: the WAV file.
        seconds: its length in seconds.
        performance_seconds: the piece's length (last note-off) in seconds; ``seconds`` minus this is
            the release tail.
        sample_rate: samples per second (Hz).
        channels: 2 (stereo).
        peak_dbfs: the peak level in dB relative to full scale.
        rms_dbfs: the RMS level over the whole file in dBFS.
        soundfont: the SoundFont used.
    """

    path: Path
    seconds: float
    performance_seconds: float
    sample_rate: int
    channels: int
    peak_dbfs: float
    rms_dbfs: float
    soundfont: Path

    def describe(self) -> str:
        """One line: "sad.wav: 41.3 s (41.0 s + 0.3 s tail), 44.1 kHz stereo, peak -1.0 dBFS, TimGM6mb.sf2"."""
        tail = self.seconds - self.performance_seconds
        return (
            f"{self.path}: {self.seconds:.1f} s ({self.performance_seconds:.1f} s + {tail:.1f} s tail), "
            f"{self.sample_rate / 1000:g} kHz {'stereo' if self.channels == 2 else 'mono'}, "
            f"peak {self.peak_dbfs:.1f} dBFS, SoundFont {self.soundfont.name}"
        )


# ------------------------------------------------------------------------------------------ SoundFont
def _how_to_get() -> str:
    return (
        f"install one (Debian/Ubuntu: sudo apt install {SOUNDFONT_PACKAGES[0]}, or "
        f"{' / '.join(SOUNDFONT_PACKAGES[1:])}), or pass --soundfont FILE.sf2, or set {SOUNDFONT_ENV}"
    )


def _check_soundfont_file(p: Path, what: str) -> Path:
    if not p.is_file():
        raise InputError(p, f"no such SoundFont file ({what})", reason="missing")
    if p.suffix.lower() not in _SUFFIXES:
        raise InputError(p, f"not a SoundFont ({what}): expected a .sf2 or .sf3 file", reason="unsupported")
    return p


def find_soundfont(soundfont: str | os.PathLike | None = None) -> Path:
    """The SoundFont to play with: ``soundfont`` if given, else ``$MUSICGEN_SOUNDFONT``, else the first
    ``.sf2``/``.sf3`` file in :data:`SOUNDFONT_DIRS` (``default-GM.sf2`` and other well-known names first
    within a folder, then by name).

    Raises:
        InputError: ``soundfont`` or ``$MUSICGEN_SOUNDFONT`` names a missing file or one that is not
            ``.sf2``/``.sf3``.
        AudioError: none given and none found; the message says which package to install.
    """
    if soundfont is not None and os.fspath(soundfont) != "":
        return _check_soundfont_file(Path(soundfont).expanduser(), "--soundfont")
    env = os.environ.get(SOUNDFONT_ENV, "")
    if env:
        return _check_soundfont_file(Path(env).expanduser(), f"from ${SOUNDFONT_ENV}")
    for d in SOUNDFONT_DIRS:
        folder = Path(d).expanduser()
        try:
            files = sorted(f for f in folder.iterdir() if f.suffix.lower() in _SUFFIXES and f.is_file())
        except OSError:
            continue
        if not files:
            continue
        by_name = {f.name: f for f in files}
        for name in _PREFERRED:
            if name in by_name:
                return by_name[name].resolve()  # Debian's default-GM.sf2 is a link: name the real file
        return files[0].resolve()
    raise AudioError(f"no SoundFont found for audio: {_how_to_get()}")


# ------------------------------------------------------------------------------------------ FluidSynth
_LIB: ctypes.CDLL | None = None
_LIB_NAMES = (
    "libfluidsynth.so.3",
    "libfluidsynth.so.2",
    "libfluidsynth.so.1",
    "libfluidsynth.dylib",
    "libfluidsynth-3.dll",
)


def _fluidsynth() -> ctypes.CDLL:
    """The FluidSynth C library, loaded once, with its log output silenced (errors are raised instead).

    Raises:
        AudioError: the library is not installed.
    """
    global _LIB
    if _LIB is not None:
        return _LIB
    names = [n for n in (ctypes.util.find_library("fluidsynth"),) if n] + list(_LIB_NAMES)
    lib = None
    for name in names:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None:
        raise AudioError(
            "audio needs the FluidSynth library, which is not installed: "
            "Debian/Ubuntu: sudo apt install libfluidsynth3; macOS: brew install fluid-synth"
        )
    vp, ci, cd, cc = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_char_p
    sigs = {
        "new_fluid_settings": (vp, []),
        "delete_fluid_settings": (None, [vp]),
        "fluid_settings_setnum": (ci, [vp, cc, cd]),
        "fluid_settings_setint": (ci, [vp, cc, ci]),
        "new_fluid_synth": (vp, [vp]),
        "delete_fluid_synth": (None, [vp]),
        "fluid_synth_sfload": (ci, [vp, cc, ci]),
        "fluid_synth_program_select": (ci, [vp, ci, ci, ci, ci]),
        "fluid_synth_noteon": (ci, [vp, ci, ci, ci]),
        "fluid_synth_noteoff": (ci, [vp, ci, ci]),
        "fluid_synth_write_float": (ci, [vp, ci, vp, ci, ci, vp, ci, ci]),
        "fluid_set_log_function": (vp, [ci, vp, vp]),
        "fluid_version_str": (cc, []),
    }
    for fname, (res, args) in sigs.items():
        fn = getattr(lib, fname)
        fn.restype = res
        fn.argtypes = args
    for level in range(5):  # PANIC, ERR, WARN, INFO, DBG: no printing; failures are raised as errors
        lib.fluid_set_log_function(level, None, None)
    _LIB = lib
    return lib


def synthesizer_version() -> str:
    """ "FluidSynth 2.3.1" (the library found), for reports and benchmarks.

    Raises:
        AudioError: the FluidSynth library is not installed.
    """
    return f"FluidSynth {_fluidsynth().fluid_version_str().decode()}"


# ------------------------------------------------------------------------------------------ timing
def note_seconds(piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """(onset, offset) of every note of ``piece`` in seconds, following its tempo map.

    Returns:
        two float64 arrays in the order of ``piece.notes``.
    """
    notes = piece.notes
    tempos = np.asarray(piece.tempos, dtype=np.float64).reshape(-1, 2)
    if tempos.size == 0:
        tempos = np.array([[0.0, 120.0]])
    order = np.argsort(tempos[:, 0], kind="stable")
    ticks, qpm = tempos[order, 0], tempos[order, 1]
    if ticks[0] > 0:
        ticks, qpm = np.concatenate([[0.0], ticks]), np.concatenate([[120.0], qpm])
    sec_per_tick = 60.0 / (qpm * piece.resolution)
    start_sec = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * sec_per_tick[:-1])])

    def conv(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        i = np.clip(np.searchsorted(ticks, t, side="right") - 1, 0, len(ticks) - 1)
        return start_sec[i] + (t - ticks[i]) * sec_per_tick[i]

    on = notes["onset_tick"].astype(np.float64)
    return conv(on), conv(on + notes["duration_tick"])


def performance_seconds(piece: Piece) -> float:
    """The piece's length in seconds: the last note-off, following the tempo map (0.0 without notes)."""
    if not len(piece):
        return 0.0
    return float(note_seconds(piece)[1].max())


# ------------------------------------------------------------------------------------------ synthesis
def _channels(piece: Piece, program: int | None) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Channel per track and (channel, bank, preset) selections. Melodic tracks get channels whose
    number mod 16 is not 9; drum tracks share channel 9 (FluidSynth's drum channel)."""
    chan_of_track = np.zeros(max(len(piece.tracks), 1), dtype=np.int64)
    selections = []
    nxt = 0
    for i, tr in enumerate(piece.tracks):
        if tr.is_drum:
            chan_of_track[i] = _DRUM_CHANNEL
            continue
        if nxt % 16 == _DRUM_CHANNEL:
            nxt += 1
        chan_of_track[i] = nxt
        selections.append((nxt, 0, int(program if program is not None else tr.program)))
        nxt += 1
    if any(t.is_drum for t in piece.tracks):
        drum_prog = next(t.program for t in piece.tracks if t.is_drum)
        selections.append((_DRUM_CHANNEL, 128, int(drum_prog) if 0 <= drum_prog < 128 else 0))
    return chan_of_track, selections


def _events(piece: Piece, chan_of_track: np.ndarray, sample_rate: int) -> np.ndarray:
    """Note events as an int64 array (m, 5) of (sample, kind 0 off / 1 on, channel, key, velocity),
    sorted by sample with note-offs first. A note that starts while the same key still sounds on its
    channel ends there (one voice per key and channel, as on a string)."""
    notes = piece.notes
    keep = notes["velocity"] > 0
    on_s, off_s = note_seconds(piece)
    on = np.rint(on_s[keep] * sample_rate).astype(np.int64)
    off = np.maximum(np.rint(off_s[keep] * sample_rate).astype(np.int64), on)
    tr = notes["track"][keep].astype(np.int64)
    chan = chan_of_track[np.clip(tr, 0, len(chan_of_track) - 1)]
    key = notes["pitch"][keep].astype(np.int64)
    vel = np.clip(notes["velocity"][keep].astype(np.int64), 1, 127)
    if on.size:
        order = np.lexsort((-off, on, key, chan))
        on, off, chan, key, vel = on[order], off[order], chan[order], key[order], vel[order]
        same = (chan[1:] == chan[:-1]) & (key[1:] == key[:-1])
        dup = np.concatenate([[False], same & (on[1:] == on[:-1])])  # same key, same onset: keep the longest
        on, off, chan, key, vel = on[~dup], off[~dup], chan[~dup], key[~dup], vel[~dup]
        same = (chan[1:] == chan[:-1]) & (key[1:] == key[:-1])
        big = np.iinfo(np.int64).max
        off = np.minimum(off, np.concatenate([np.where(same, on[1:], big), [big]]))
    ev = np.concatenate(
        [
            np.stack([off, np.zeros_like(off), chan, key, np.zeros_like(off)], axis=1),
            np.stack([on, np.ones_like(on), chan, key, vel], axis=1),
        ]
    ).reshape(-1, 5)
    return ev[np.lexsort((ev[:, 1], ev[:, 0]))]


def render_audio(
    piece: Piece,
    soundfont: str | os.PathLike | None = None,
    *,
    program: int | None = VIOLIN_PROGRAM,
    sample_rate: int = SAMPLE_RATE,
    max_tail: float = MAX_TAIL_S,
) -> np.ndarray:
    """Play ``piece`` with a SoundFont and return the audio.

    Args:
        piece: the piece (times follow its tempo map; velocity sets loudness).
        soundfont: a ``.sf2``/``.sf3`` file; None looks one up (see :func:`find_soundfont`).
        program: General MIDI program (0-based) for every non-drum track; 40 (violin) by default.
            None plays each track's own program.
        sample_rate: samples per second (Hz), 8000..96000.
        max_tail: seconds rendered after the last note-off for the release and reverb tail.

    Returns:
        float32 array shaped (n_samples, 2): **stereo** (left, right), at ``sample_rate`` Hz (44100 by
        default), peak at -1 dBFS (``10 ** (-1 / 20)`` ≈ 0.891; see the module docstring for the length).

    Raises:
        AudioError: no SoundFont found, or FluidSynth not installed (one line on what to install).
        InputError: the SoundFont is missing, unreadable or lacks a program; the piece has no notes.
        ValueError: ``program`` outside 0..127, ``sample_rate`` outside 8000..96000, negative ``max_tail``.
    """
    if program is not None and not 0 <= int(program) <= 127:
        raise ValueError(f"program must lie in 0..127, got {program}")
    if not 8000 <= int(sample_rate) <= 96000:
        raise ValueError(f"sample_rate must lie in 8000..96000 Hz, got {sample_rate}")
    if max_tail < 0:
        raise ValueError(f"max_tail must be >= 0 s, got {max_tail}")
    sf = find_soundfont(soundfont)
    lib = _fluidsynth()
    name = piece.source or piece.title or "<piece>"
    if not np.any(piece.notes["velocity"] > 0):
        raise InputError(name, "no notes to play", reason="no notes")
    sample_rate = int(sample_rate)
    chan_of_track, selections = _channels(piece, program)
    ev = _events(piece, chan_of_track, sample_rate)
    end = int(ev[:, 0].max())
    total = end + int(round(max_tail * sample_rate)) + 1
    n_channels = 16 * (1 + max(c for c, _, _ in selections) // 16) if selections else 16

    settings = lib.new_fluid_settings()
    synth = None
    try:
        lib.fluid_settings_setnum(settings, b"synth.sample-rate", float(sample_rate))
        lib.fluid_settings_setint(settings, b"synth.midi-channels", int(n_channels))
        lib.fluid_settings_setint(settings, b"synth.chorus.active", 0)
        lib.fluid_settings_setint(settings, b"synth.reverb.active", 1)
        lib.fluid_settings_setint(settings, b"synth.cpu-cores", 1)
        synth = lib.new_fluid_synth(settings)
        if not synth:
            raise AudioError("FluidSynth could not create a synthesiser (out of memory?)")
        sfid = lib.fluid_synth_sfload(synth, os.fsencode(sf), 1)
        if sfid < 0:
            raise InputError(sf, "FluidSynth cannot read this SoundFont (corrupt, or not SF2/SF3)", reason="corrupt")
        for chan, bank, preset in selections:
            if lib.fluid_synth_program_select(synth, chan, sfid, bank, preset) != 0:
                what = (
                    f"drum kit (bank 128, preset {preset})"
                    if bank == 128
                    else f"General MIDI program {preset} (bank 0)"
                )
                raise InputError(sf, f"the SoundFont has no {what}", reason="unsupported")
        left = np.zeros(total, dtype=np.float32)
        right = np.zeros(total, dtype=np.float32)
        lp, rp = left.ctypes.data_as(ctypes.c_void_p), right.ctypes.data_as(ctypes.c_void_p)
        pos = 0
        for t, kind, chan, key, vel in ev.tolist():
            if t > pos:
                lib.fluid_synth_write_float(synth, t - pos, lp, pos, 1, rp, pos, 1)
                pos = t
            if kind:
                lib.fluid_synth_noteon(synth, chan, key, vel)
            else:
                lib.fluid_synth_noteoff(synth, chan, key)
        if total > pos:
            lib.fluid_synth_write_float(synth, total - pos, lp, pos, 1, rp, pos, 1)
    finally:
        if synth:
            lib.delete_fluid_synth(synth)
        lib.delete_fluid_settings(settings)

    audio = np.stack([left, right], axis=1)
    level = np.abs(audio).max(axis=1)
    peak = float(level.max())
    if peak > 0:
        loud = np.nonzero(level > peak * 10 ** (TAIL_FLOOR_DB / 20))[0]
        cut = max(end, int(loud[-1]) + 1)
        audio = audio[:cut]
        fade = min(int(0.01 * sample_rate), max(cut - end, 0))  # 10 ms fade-out over the cut tail
        if fade > 0:
            audio[cut - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
        audio *= np.float32(10 ** (PEAK_DBFS / 20) / peak)
    else:
        audio = audio[:end]
    return np.ascontiguousarray(audio, dtype=np.float32)


# ------------------------------------------------------------------------------------------ WAV
def wav_bytes(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Encode audio as a 16-bit PCM WAV file.

    Args:
        audio: float array (n_samples,) mono or (n_samples, channels), full scale ±1.0 (values beyond
            are clipped: :func:`render_audio` output never is).
        sample_rate: Hz.

    Raises:
        ValueError: an array of another shape, or non-finite samples.
    """
    a = np.asarray(audio, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] not in (1, 2):
        raise ValueError(f"expected audio shaped (n,) or (n, 1 or 2), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("audio holds NaN or infinite samples")
    pcm = np.clip(np.rint(a * 32767.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def write_wav(audio: np.ndarray, path: str | os.PathLike, sample_rate: int = SAMPLE_RATE, force: bool = False) -> Path:
    """Write audio (see :func:`wav_bytes`) to ``path`` atomically.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is false.
        UsageError: the folder is missing or not writable.
        ValueError: as for :func:`wav_bytes`.
    """
    return atomic_write_bytes(path, wav_bytes(audio, sample_rate), force)


def render_wav(
    piece: Piece,
    path: str | os.PathLike,
    soundfont: str | os.PathLike | None = None,
    *,
    program: int | None = VIOLIN_PROGRAM,
    force: bool = False,
) -> AudioInfo:
    """Render ``piece`` (see :func:`render_audio`) and write it as a 44.1 kHz 16-bit stereo WAV file.

    Returns:
        an :class:`AudioInfo` (length, levels, SoundFont).

    Raises:
        as :func:`render_audio` and :func:`write_wav`.
    """
    sf = find_soundfont(soundfont)
    audio = render_audio(piece, sf, program=program)
    p = write_wav(audio, path, SAMPLE_RATE, force=force)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    db = lambda x: 20 * np.log10(x) if x > 0 else float("-inf")  # noqa: E731
    return AudioInfo(
        path=Path(p),
        seconds=audio.shape[0] / SAMPLE_RATE,
        performance_seconds=performance_seconds(piece),
        sample_rate=SAMPLE_RATE,
        channels=int(audio.shape[1]) if audio.ndim == 2 else 1,
        peak_dbfs=float(db(peak)),
        rms_dbfs=float(db(rms)),
        soundfont=sf,
    )
