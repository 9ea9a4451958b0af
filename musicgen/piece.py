"""The one in-memory representation of a piece of symbolic music.

A :class:`Piece` holds its notes as one numpy structured array (a row per note) plus the meter, tempo,
key and chord-symbol information that the rest of the toolkit needs. Times are kept twice: exactly, in
ticks at ``resolution`` ticks per quarter note (what MIDI stores), and as float quarter notes ("qn",
the unit music21 calls quarterLength). A *beat* in this codebase is a quarter note unless a function
says otherwise.

Data flows one way: readers in :mod:`musicgen.io` build Pieces; :mod:`musicgen.grid` turns them into bar
grids; metrics and rules read Pieces or grids; writers turn Pieces back into files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np

#: The fields of a note row. ``onset``/``duration`` in quarter notes, ``onset_tick``/``duration_tick``
#: in ticks, ``pitch`` as a MIDI number (60 = C4), ``velocity`` 1..127, ``track`` the index into
#: :attr:`Piece.tracks`.
NOTE_DTYPE = np.dtype(
    [
        ("onset", "f8"),
        ("duration", "f8"),
        ("onset_tick", "i8"),
        ("duration_tick", "i8"),
        ("pitch", "i2"),
        ("velocity", "i2"),
        ("track", "i2"),
    ]
)

#: Default ticks per quarter note for pieces built from notation (divisible by 2, 3, 4, 5, 8, 12, 16).
DEFAULT_RESOLUTION = 480

#: General MIDI program numbers are 1-based in the standard and 0-based in files: violin is 41 / 40.
VIOLIN_PROGRAM = 40

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """Notes sorted by (onset_tick, track, pitch, duration_tick); the same array when already in order.

    The common case (a file's notes already in order, no two at the same onset, track and pitch) is
    checked with one packed integer key instead of a four-key lexsort.
    """
    if notes.size < 2:
        return notes
    on = notes["onset_tick"]
    if on.min() >= 0 and on.max() < (1 << 40):
        packed = (on << 16) | (notes["track"].astype(np.int64) << 7) | notes["pitch"].astype(np.int64)
        if bool(np.all(packed[1:] > packed[:-1])):
            return notes
    order = np.lexsort((notes["duration_tick"], notes["pitch"], notes["track"], on))
    return notes[order]


_LETTERS = "CDEFGAB"
_LETTER_PCS = (0, 2, 4, 5, 7, 9, 11)
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
#: How each tonic is spelled: major keys with at most 6 accidentals (F# rather than Gb), minor keys likewise.
_MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


@functools.lru_cache(maxsize=32)  # a key's 12 names, asked for once per note by pitch_name
def key_spelling(key: Key) -> tuple[str, ...]:
    """The 12 pitch-class names as written in ``key``: the scale's degrees with their own letters (and, in
    minor, the raised 6th and 7th on the 6th's and 7th's letters), the other pitch classes with the
    key signature's accidental (sharps in C major / A minor and in sharp keys, flats in flat keys).

    E.g. A minor spells pitch class 8 as "G#", F# minor spells 10 as "A#", F major spells 10 as "Bb".
    """
    tonic = (_MAJOR_TONICS if key.mode == "major" else _MINOR_TONICS)[key.tonic % 12]
    t_letter = _LETTERS.index(tonic[0])
    steps = (0, 2, 4, 5, 7, 9, 11) if key.mode == "major" else (0, 2, 3, 5, 7, 8, 10)
    degrees = list(enumerate(steps))
    if key.mode != "major":
        degrees += [(5, 9), (6, 11)]  # melodic minor's raised 6th and 7th
    names: list[str | None] = [None] * 12
    for i, step in degrees:
        letter = _LETTERS[(t_letter + i) % 7]
        pc = (key.tonic + step) % 12
        alter = (pc - _LETTER_PCS[_LETTERS.index(letter)] + 6) % 12 - 6
        if names[pc] is None:
            names[pc] = letter + ("#" * alter if alter > 0 else "b" * -alter)
    signature_flats = any("b" in names[(key.tonic + s) % 12][1:] for s in steps)
    chromatic = _FLAT_NAMES if signature_flats else _SHARP_NAMES
    return tuple(n if n is not None else chromatic[pc] for pc, n in enumerate(names))


def pitch_name(pitch: int, key: Key | None = None) -> str:
    """Name a MIDI pitch in scientific notation, e.g. 60 -> "C4", 78 -> "F#5"; spelled as in ``key`` when
    given (:func:`key_spelling`: 68 is "G#4" in A minor, "Ab4" in F minor)."""
    names = PITCH_NAMES if key is None else key_spelling(key)
    name, octave = names[int(pitch) % 12], int(pitch) // 12 - 1
    octave += (name[0] == "C" and pitch % 12 == 11) - (name[0] == "B" and pitch % 12 == 0)  # Cb5 is B4, B#4 is C5
    return f"{name}{octave}"


@dataclass(frozen=True)
class Track:
    """A part: its name, its 0-based General MIDI program and whether it is a drum track."""

    name: str = ""
    program: int = VIOLIN_PROGRAM
    is_drum: bool = False


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class (0 = C) and mode ("major" or "minor")."""

    tonic: int
    mode: str = "major"

    def __str__(self) -> str:
        return f"{PITCH_NAMES[self.tonic % 12]} {self.mode}"

    @property
    def scale(self) -> np.ndarray:
        """The 7 pitch classes of the key's scale (natural minor for "minor")."""
        steps = (0, 2, 4, 5, 7, 9, 11) if self.mode == "major" else (0, 2, 3, 5, 7, 8, 10)
        return (np.asarray(steps) + self.tonic) % 12


@dataclass
class Piece:
    """A piece of music as note arrays plus meter, tempo, key and chord symbols.

    Attributes:
        notes: structured array of :data:`NOTE_DTYPE`, sorted by (onset_tick, track, pitch).
        resolution: ticks per quarter note.
        tracks: one :class:`Track` per track index used in ``notes['track']``.
        time_signatures: int array (n, 3) of (tick, numerator, denominator), sorted by tick; at least
            one row, at tick 0 (4/4 is assumed when a file gives none).
        tempos: float array (n, 2) of (tick, quarter notes per minute), sorted by tick; at least one row.
        key: the key signature / analysed key if known.
        chords: float array (n, 3) of (onset in qn, root pitch class, quality) from chord symbols in the
            source (quality: 0 major, 1 minor, 2 diminished, 3 augmented); empty when the source has none.
        title: a human-readable name.
        source: where it came from (a path or a corpus reference).
        meta: free-form metadata (tune type, corpus, labels...).
    """

    notes: np.ndarray
    resolution: int = DEFAULT_RESOLUTION
    tracks: list[Track] = field(default_factory=lambda: [Track()])
    time_signatures: np.ndarray = field(default_factory=lambda: np.array([[0, 4, 4]], dtype=np.int64))
    tempos: np.ndarray = field(default_factory=lambda: np.array([[0.0, 120.0]]))
    key: Key | None = None
    chords: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    title: str = ""
    source: str = ""
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        onset_tick,
        duration_tick,
        pitch,
        velocity=None,
        track=None,
        resolution: int = DEFAULT_RESOLUTION,
        **kwargs,
    ) -> Piece:
        """Build a Piece from parallel arrays of tick onsets, tick durations and MIDI pitches.

        ``velocity`` defaults to 80 and ``track`` to 0. Quarter-note times are derived from ticks.

        Raises:
            ValueError: arrays of different lengths, a negative onset or duration, or a pitch outside 0..127.
        """
        onset_tick = np.asarray(onset_tick, dtype=np.int64).ravel()
        n = onset_tick.size
        duration_tick = np.asarray(duration_tick, dtype=np.int64).ravel()
        pitch = np.asarray(pitch, dtype=np.int64).ravel()
        velocity = np.full(n, 80) if velocity is None else np.asarray(velocity).ravel()
        track = np.zeros(n, dtype=np.int64) if track is None else np.asarray(track).ravel()
        if not (duration_tick.size == pitch.size == velocity.size == track.size == n):
            raise ValueError("note arrays must all have the same length")
        if n and (onset_tick.min() < 0 or duration_tick.min() < 0):
            raise ValueError("onsets and durations must be non-negative")
        if n and (pitch.min() < 0 or pitch.max() > 127):
            raise ValueError("pitches must lie in 0..127")
        notes = np.empty(n, dtype=NOTE_DTYPE)
        notes["onset_tick"] = onset_tick
        notes["duration_tick"] = duration_tick
        notes["onset"] = onset_tick / resolution
        notes["duration"] = duration_tick / resolution
        notes["pitch"] = pitch
        notes["velocity"] = velocity
        notes["track"] = track
        piece = cls(notes=notes, resolution=resolution, **kwargs)
        if piece.tracks and n and track.max() >= len(piece.tracks):
            piece.tracks = list(piece.tracks) + [Track() for _ in range(int(track.max()) + 1 - len(piece.tracks))]
        piece.sort()
        return piece

    @classmethod
    def empty(cls, **kwargs) -> Piece:
        """A piece with no notes."""
        return cls(notes=np.zeros(0, dtype=NOTE_DTYPE), **kwargs)

    def sort(self) -> None:
        """Sort notes in place by (onset_tick, track, pitch, duration_tick); a no-op when already sorted."""
        self.notes = sort_notes(self.notes)

    def copy(self, **changes) -> Piece:
        """A deep copy of the arrays, with any field replaced by ``changes``."""
        out = replace(
            self,
            notes=self.notes.copy(),
            time_signatures=self.time_signatures.copy(),
            tempos=self.tempos.copy(),
            chords=self.chords.copy(),
            tracks=list(self.tracks),
            meta=dict(self.meta),
        )
        for k, v in changes.items():
            setattr(out, k, v)
        return out

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return int(self.notes.size)

    @property
    def pitches(self) -> np.ndarray:
        """MIDI pitches of all non-drum notes (int array)."""
        return self.pitched_notes()["pitch"].astype(np.int64)

    def pitched_notes(self) -> np.ndarray:
        """The notes of non-drum tracks (drums carry no pitch class)."""
        drums = [i for i, t in enumerate(self.tracks) if t.is_drum]
        if not drums:
            return self.notes
        return self.notes[~np.isin(self.notes["track"], drums)]

    @property
    def time_signature(self) -> tuple[int, int]:
        """The first time signature as (numerator, denominator)."""
        return int(self.time_signatures[0, 1]), int(self.time_signatures[0, 2])

    @property
    def tempo(self) -> float:
        """The first tempo in quarter notes per minute."""
        return float(self.tempos[0, 1])

    @property
    def bar_length(self) -> float:
        """Length of a bar of the first time signature in quarter notes (4/4 -> 4.0, 6/8 -> 3.0)."""
        num, den = self.time_signature
        return num * 4.0 / den

    @property
    def end(self) -> float:
        """The end of the last note, in quarter notes (0.0 when there are none)."""
        if not len(self):
            return 0.0
        return float((self.notes["onset"] + self.notes["duration"]).max())

    @property
    def n_bars(self) -> int:
        """Number of (first-meter) bars the notes reach into."""
        return int(np.ceil(self.end / self.bar_length - 1e-9)) if len(self) else 0

    def transpose(self, semitones: int) -> Piece:
        """A copy with every non-drum pitch moved by ``semitones`` (key and chords follow).

        Raises:
            ValueError: a pitch would leave 0..127.
        """
        out = self.copy()
        drums = [i for i, t in enumerate(self.tracks) if t.is_drum]
        mask = ~np.isin(out.notes["track"], drums)
        new = out.notes["pitch"][mask].astype(np.int64) + semitones
        if new.size and (new.min() < 0 or new.max() > 127):
            raise ValueError("transposition leaves the MIDI pitch range")
        out.notes["pitch"][mask] = new
        if out.key is not None:
            out.key = Key((out.key.tonic + semitones) % 12, out.key.mode)
        if out.chords.size:
            out.chords[:, 1] = (out.chords[:, 1] + semitones) % 12
        return out
