"""musicgen.audio and the audio side of the CLI: SoundFont lookup, FluidSynth rendering, WAV files, errors.

Tests that play sound need a General MIDI SoundFont and the FluidSynth library (CI installs
timgm6mb-soundfont and libfluidsynth3); they skip with the reason where either is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import wave

import numpy as np
import pytest

import musicgen
from musicgen import audio as A
from musicgen.errors import InputError, OutputExistsError
from musicgen.io import write_midi
from musicgen.piece import Piece, Track

SR = A.SAMPLE_RATE


@pytest.fixture(scope="module")
def soundfont():
    """The SoundFont found on this machine (skips without one, or without FluidSynth)."""
    try:
        sf = A.find_soundfont()
        A.synthesizer_version()
    except A.AudioError as exc:
        pytest.skip(f"no audio here: {exc}")
    return sf


def _dynamics_piece() -> Piece:
    """8 quarter notes pianissimo (velocity 20) then the same 8 fortissimo (velocity 115) at 120 bpm."""
    pitches = np.tile([67, 69, 71, 72, 74, 72, 71, 69], 2)
    vel = np.r_[np.full(8, 20), np.full(8, 115)]
    return Piece.from_arrays(np.arange(16) * 480, np.full(16, 440), pitches, vel, tempos=np.array([[0.0, 120.0]]))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# ------------------------------------------------------------------------------------ no sound needed
def test_note_seconds_follow_the_tempo_map():
    # 4 quarters at 120 bpm (2 s), then 4 quarters at 60 bpm (4 s)
    p = Piece.from_arrays(
        np.arange(8) * 480, np.full(8, 480), np.full(8, 69), tempos=np.array([[0.0, 120.0], [1920.0, 60.0]])
    )
    on, off = A.note_seconds(p)
    assert on[:4] == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert on[4:] == pytest.approx([2.0, 3.0, 4.0, 5.0])
    assert off[3] == pytest.approx(2.0) and off[-1] == pytest.approx(6.0)
    assert A.performance_seconds(p) == pytest.approx(6.0)
    assert A.performance_seconds(Piece.empty()) == 0.0


def test_same_key_overlaps_end_at_the_next_onset():
    # two notes on the same key overlap: the first must end where the second starts (one voice per key)
    p = Piece.from_arrays([0, 240, 960], [480, 480, 480], [69, 69, 72], tempos=np.array([[0.0, 60.0]]))
    chan, _ = A._channels(p, 40)
    ev = A._events(p, chan, 1000)  # 1000 samples per second: 1 s per quarter at 60 bpm
    offs = ev[(ev[:, 1] == 0) & (ev[:, 3] == 69)][:, 0]
    ons = ev[(ev[:, 1] == 1) & (ev[:, 3] == 69)][:, 0]
    assert sorted(ons.tolist()) == [0, 500] and sorted(offs.tolist()) == [500, 1500]
    # at the same sample, note-offs come before note-ons
    t500 = ev[ev[:, 0] == 500]
    assert t500[0, 1] == 0 and t500[-1, 1] == 1


def test_drums_get_channel_9_and_melodic_tracks_skip_it():
    tracks = [Track(f"t{i}") for i in range(11)] + [Track("drums", 0, True)]
    p = Piece.from_arrays(np.zeros(12, int), np.full(12, 480), np.full(12, 60), track=np.arange(12), tracks=tracks)
    chan, sel = A._channels(p, 40)
    assert chan[-1] == 9 and 9 not in chan[:-1].tolist() and len(set(chan[:-1].tolist())) == 11
    assert (9, 128, 0) in sel and all(prog == 40 for c, bank, prog in sel if bank == 0)


def test_wav_bytes_round_trip(tmp_path):
    t = np.arange(SR // 10) / SR
    a = 0.5 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 220 * t)], axis=1)
    path = A.write_wav(a, tmp_path / "tone.wav")
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (2, 2, SR, SR // 10)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert np.abs(pcm / 32767.0 - a).max() < 1e-4
    with pytest.raises(OutputExistsError):
        A.write_wav(a, path)
    with pytest.raises(ValueError, match="NaN"):
        A.wav_bytes(np.array([0.0, np.nan]))


# ------------------------------------------------------------------------------------ SoundFont lookup
def test_soundfont_lookup_order(tmp_path, monkeypatch):
    d1, d2 = tmp_path / "a", tmp_path / "b"
    d1.mkdir()
    d2.mkdir()
    for name in ("b.sf2", "a.sf3", "notes.txt"):
        (d2 / name).write_bytes(b"x")
    monkeypatch.setattr(A, "SOUNDFONT_DIRS", (str(d1), str(d2)))
    monkeypatch.delenv(A.SOUNDFONT_ENV, raising=False)
    assert A.find_soundfont() == (d2 / "a.sf3").resolve()  # first folder holding one; by name there
    (d2 / "default-GM.sf2").write_bytes(b"x")
    assert A.find_soundfont() == (d2 / "default-GM.sf2").resolve()  # Debian's default first
    env_sf = tmp_path / "env.sf2"
    env_sf.write_bytes(b"x")
    monkeypatch.setenv(A.SOUNDFONT_ENV, str(env_sf))
    assert A.find_soundfont() == env_sf  # the variable beats the folders
    assert A.find_soundfont(d2 / "b.sf2") == d2 / "b.sf2"  # an explicit path beats the variable
    monkeypatch.setenv(A.SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(InputError, match="gone.sf2: no such SoundFont file"):
        A.find_soundfont()
    with pytest.raises(InputError, match="expected a .sf2 or .sf3"):
        A.find_soundfont(d2 / "notes.txt")


def test_missing_soundfont_is_one_line_naming_the_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(A, "SOUNDFONT_DIRS", (str(tmp_path),))
    monkeypatch.delenv(A.SOUNDFONT_ENV, raising=False)
    with pytest.raises(A.AudioError) as exc:
        musicgen.render_audio(_dynamics_piece())
    msg = str(exc.value)
    assert "\n" not in msg and exc.value.exit_code == 2
    assert "timgm6mb-soundfont" in msg and "fluid-soundfont-gm" in msg and "--soundfont" in msg


_HIDE_SOUNDFONTS = "import musicgen.audio as a; a.SOUNDFONT_DIRS = (); from musicgen.cli import main; main()"


def _cli_without_soundfont(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != A.SOUNDFONT_ENV}
    return subprocess.run(
        [sys.executable, "-c", _HIDE_SOUNDFONTS, *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


def test_cli_render_without_soundfont(tmp_path):
    write_midi(_dynamics_piece(), tmp_path / "in.mid")
    r = _cli_without_soundfont("render", "in.mid", "-o", "out.wav", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no SoundFont found" in lines[0] and "timgm6mb-soundfont" in lines[0]
    assert "Traceback" not in r.stderr and not (tmp_path / "out.wav").exists()


def test_cli_generate_wav_without_soundfont_fails_before_generating(tmp_path):
    r = _cli_without_soundfont("generate", "--emotion", "sad", "-o", "sad.mid", "--wav", "sad.wav", cwd=tmp_path)
    assert r.returncode == 2 and "no SoundFont found" in r.stderr and "timgm6mb-soundfont" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "sad.mid").exists()


# ------------------------------------------------------------------------------------ real sound
def test_render_is_loud_enough_and_follows_the_dynamics(soundfont):
    p = _dynamics_piece()
    a = musicgen.render_audio(p)
    assert a.dtype == np.float32 and a.ndim == 2 and a.shape[1] == 2
    assert float(np.abs(a).max()) == pytest.approx(10 ** (A.PEAK_DBFS / 20), abs=1e-5)  # normalised, no clipping
    pp, ff = a[: 4 * SR], a[4 * SR : 8 * SR]
    assert _rms(a) > 0.01  # not silent
    assert _rms(pp) > 1e-4  # the pianissimo half sounds too
    assert _rms(ff) > 3.0 * _rms(pp), (_rms(pp), _rms(ff))  # at least ~10 dB between velocity 20 and 115
    # the second half is the same notes: the loudness difference is the dynamics, not the pitches
    loud = _dynamics_piece()
    loud.notes["velocity"] = 115
    b = musicgen.render_audio(loud)
    assert 0.5 < _rms(b[: 4 * SR]) / _rms(b[4 * SR : 8 * SR]) < 2.0


def test_length_is_the_performance_plus_the_tail(soundfont):
    p = Piece.from_arrays(
        np.arange(8) * 480,
        np.full(8, 480),
        np.full(8, 69),
        velocity=np.full(8, 90),
        tempos=np.array([[0.0, 120.0], [1920.0, 60.0]]),
    )
    a = musicgen.render_audio(p)
    perf = A.performance_seconds(p)
    assert perf == pytest.approx(6.0)
    seconds = a.shape[0] / SR
    assert perf <= seconds <= perf + A.MAX_TAIL_S + 1e-3
    assert seconds > perf + 0.05  # the release/reverb tail is kept, not cut at the last note-off
    # sound right up to the last note-off, then it decays
    assert _rms(a[int((perf - 0.25) * SR) : int(perf * SR)]) > 10 * _rms(a[-int(0.02 * SR) :])
    # a shorter maximum tail cuts it shorter
    assert a.shape[0] >= musicgen.render_audio(p, max_tail=0.1).shape[0] >= int(perf * SR)


def test_render_wav_file(soundfont, tmp_path):
    p = _dynamics_piece()
    info = A.render_wav(p, tmp_path / "out.wav")
    with wave.open(str(info.path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 44100)
        n = w.getnframes()
        pcm = np.frombuffer(w.readframes(n), dtype="<i2")
    assert info.seconds == pytest.approx(n / 44100) and info.performance_seconds == pytest.approx(
        A.performance_seconds(p)
    )
    assert info.soundfont == soundfont and info.peak_dbfs == pytest.approx(-1.0, abs=0.01)
    assert 0.85 * 32767 < np.abs(pcm.astype(int)).max() < 32767  # normalised to -1 dBFS, nothing clipped
    assert "44.1 kHz stereo" in info.describe()


def test_bad_soundfont_and_empty_piece(soundfont, tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF but not really a SoundFont")
    with pytest.raises(InputError, match="bad.sf2: FluidSynth cannot read"):
        musicgen.render_audio(_dynamics_piece(), bad)
    with pytest.raises(InputError, match="no notes"):
        musicgen.render_audio(Piece.empty(title="nothing"))
    with pytest.raises(ValueError, match="program"):
        musicgen.render_audio(_dynamics_piece(), program=128)


def test_cli_render(soundfont, tmp_path):
    from typer.testing import CliRunner

    from musicgen.cli import app

    write_midi(_dynamics_piece(), tmp_path / "in.mid")
    args = ["render", str(tmp_path / "in.mid"), "-o", str(tmp_path / "out.wav"), "--png", str(tmp_path / "out.png")]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out.wav").stat().st_size > 44100 * 4 * 8  # 8 s of 16-bit stereo at least
    assert (tmp_path / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = (tmp_path / "out.wav").read_bytes()
    r = CliRunner().invoke(app, args)  # no --force: nothing is overwritten
    assert isinstance(r.exception, OutputExistsError) and (tmp_path / "out.wav").read_bytes() == before
    assert CliRunner().invoke(app, args + ["--force"]).exit_code == 0
