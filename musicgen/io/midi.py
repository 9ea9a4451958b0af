"""MIDI reading and writing through symusic (a C++ MIDI parser), exact to the tick."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import symusic

from musicgen.errors import InputError
from musicgen.piece import NOTE_DTYPE, VIOLIN_PROGRAM, Key, Piece, Track

MIDI_SUFFIXES = (".mid", ".midi")


def _key_from_signature(sharps: int, minor: int) -> Key:
    """Tonic of a key signature given as sharps (-7..7) and a minor flag."""
    tonic = (7 * int(sharps) + (9 if minor else 0)) % 12
    return Key(tonic, "minor" if minor else "major")


def _signature_from_key(key: Key) -> tuple[int, int]:
    """(sharps, minor flag) of a key, choosing the spelling with the fewest accidentals."""
    major_tonic = (key.tonic + (3 if key.mode == "minor" else 0)) % 12
    sharps = (major_tonic * 7) % 12  # fifths from C, 0..11
    if sharps > 6:
        sharps -= 12
    return sharps, int(key.mode == "minor")


# ---------------------------------------------------------------------------------------- reading
#
# Reading is two steps: :func:`parse_midi` turns one file into plain data (symusic parses it in C++
# and hands over each track's notes as one bytes object: no Python work per note), and
# :func:`pieces_from_parsed` assembles any number of parsed files into Pieces with a fixed number of
# numpy calls for all of them together (the per-file cost of reading many small files is otherwise
# dominated by numpy's per-call overhead). ``musicgen evaluate`` assembles a batch at a time.

#: symusic's tick-based Score class, called directly (the factory ``symusic.Score`` adds a Python layer).
_SCORE_TICK = getattr(getattr(symusic, "core", None), "ScoreTick", None)

#: A note as symusic stores it: tick time and duration (int32), pitch and velocity (int8), 12 bytes.
_NOTE_RECORD = np.dtype(
    {
        "names": ["time", "duration", "pitch", "velocity"],
        "formats": ["i4", "i4", "i1", "i1"],
        "offsets": [0, 4, 8, 9],
        "itemsize": 12,
    }
)

#: A note's place in the sort order of :func:`~musicgen.piece.sort_notes`, with its file first, as
#: one integer: file << 50 | onset << 16 | track << 7 | pitch (pitch < 128, track < 512, onset < 2**34,
#: file < 2**13); other notes are sorted with :func:`numpy.lexsort`.
_PITCH_BITS, _TRACK_BITS, _ONSET_BITS = 7, 9, 34
_MAX_PACKED_FILES = 1 << 13

#: Track descriptions and keys are immutable: equal ones are shared (bounded, so odd files cannot grow them).
_TRACKS: dict[tuple[str, int, bool], Track] = {}
_KEYS: dict[tuple[int, int], Key] = {}


def _track(name: str, program: int, is_drum: bool) -> Track:
    key = (name, program, is_drum)
    tr = _TRACKS.get(key)
    if tr is None:
        if len(_TRACKS) > 4096:
            _TRACKS.clear()
        tr = _TRACKS[key] = Track(name=name, program=program, is_drum=is_drum)
    return tr


def _key(sharps: int, minor: int) -> Key:
    """:func:`_key_from_signature`, shared between files."""
    key = _KEYS.get((sharps, minor))
    if key is None:
        if len(_KEYS) > 4096:
            _KEYS.clear()
        key = _KEYS[(sharps, minor)] = _key_from_signature(sharps, minor)
    return key


def _records_from_numpy(notes) -> bytes:
    """The notes of a symusic note list as :data:`_NOTE_RECORD` bytes, through its ``numpy()``."""
    columns = notes.numpy()
    records = np.zeros(len(columns["time"]), dtype=_NOTE_RECORD)
    for name in _NOTE_RECORD.names:
        records[name] = columns[name]
    return records.tobytes()


def _records_from_state(notes) -> bytes:
    """The notes of a symusic note list as :data:`_NOTE_RECORD` bytes, in one call: its pickled state
    is a uint32 count followed by the notes as symusic stores them (see :func:`_note_records`)."""
    return notes.__getstate__()[4:]


@functools.cache
def _note_records() -> Callable[[Any], bytes]:
    """How to get a symusic note list's notes as :data:`_NOTE_RECORD` bytes: from its pickled state
    (a bytes copy of its memory; about 8 times cheaper than ``numpy()``, which makes four arrays)
    when this symusic's state has that layout -- checked on a list made of known notes -- else
    through ``numpy()``."""
    try:
        columns = {
            "time": np.array([0, 7, 2**31 - 1], dtype=np.int32),
            "duration": np.array([5, 2**31 - 1, 0], dtype=np.int32),
            "pitch": np.array([0, 127, 60], dtype=np.int8),
            "velocity": np.array([1, 127, 64], dtype=np.int8),
        }
        probe = symusic.core.NoteTickList.from_numpy(*columns.values())
        state = probe.__getstate__()
        records = np.frombuffer(state[4:], dtype=_NOTE_RECORD)
        if state[:4] == np.uint32(3).tobytes() and all((records[k] == v).all() for k, v in columns.items()):
            return _records_from_state
    except Exception:  # another symusic: no such class, method or layout
        pass
    return _records_from_numpy


@dataclass
class ParsedMidi:
    """One MIDI file as symusic read it, before it becomes a :class:`Piece` (see :func:`parse_midi`).

    Attributes:
        source: the path (or a name) it came from.
        resolution: ticks per quarter note.
        tracks: one :class:`Track` per track of the file, in file order.
        notes: per track, its notes as bytes of :data:`_NOTE_RECORD` (time, duration, pitch, velocity),
            in the order symusic gives them.
        meter: (tick, numerator, denominator) of each time signature, in file order.
        tempo: (tick, quarter notes per minute) of each tempo, in file order.
        key: the first key signature, if any.
    """

    source: str
    resolution: int
    tracks: list[Track]
    notes: list[bytes]
    meter: list[tuple[int, int, int]]
    tempo: list[tuple[float, float]]
    key: Key | None


#: Event lists up to this long are read item by item (cheaper than symusic's numpy conversion).
_SHORT = 8


def _meter_rows(events) -> list[tuple[int, int, int]]:
    n = len(events)
    if n <= _SHORT:
        rows = []
        for i in range(n):
            e = events[i]
            rows.append((e.time, e.numerator, e.denominator))
        return rows
    a = events.numpy()
    return list(zip(a["time"].tolist(), a["numerator"].tolist(), a["denominator"].tolist()))


def _tempo_rows(events) -> list[tuple[float, float]]:
    n = len(events)
    if n <= _SHORT:
        rows = []
        for i in range(n):
            e = events[i]
            rows.append((float(e.time), 60_000_000.0 / float(e.mspq)))
        return rows
    a = events.numpy()
    return list(zip(a["time"].astype(np.float64).tolist(), (60_000_000.0 / a["mspq"].astype(np.float64)).tolist()))


def parse_score(score: symusic.Score, source: str = "") -> ParsedMidi:
    """The tracks, notes and maps of a tick-based symusic Score (see :class:`ParsedMidi`)."""
    records = _note_records()
    tracks: list[Track] = []
    notes: list[bytes] = []
    symusic_tracks = score.tracks  # (indexing symusic's lists is cheaper than iterating them)
    for i in range(len(symusic_tracks)):
        tr = symusic_tracks[i]
        tracks.append(_track(tr.name, tr.program, tr.is_drum))
        notes.append(records(tr.notes))
    ks = score.key_signatures
    if len(ks):
        first = ks[0]
        key = _key(first.key, first.tonality)
    else:
        key = None
    return ParsedMidi(
        source,
        score.ticks_per_quarter,
        tracks,
        notes,
        _meter_rows(score.time_signatures),
        _tempo_rows(score.tempos),
        key,
    )


def _read_file(path: str) -> bytes:
    """The bytes of the file at ``path`` (with plain system calls: cheaper than a file object).

    Raises:
        InputError: no such file, or a folder ("missing").
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(path, "no such file", reason="missing") from None
    try:
        data = os.read(fd, _READ_SIZE)
        more = os.read(fd, _READ_SIZE) if data else b""
        if more:
            chunks = [data, more]
            while more := os.read(fd, _READ_SIZE):
                chunks.append(more)
            data = b"".join(chunks)
    except IsADirectoryError:
        raise InputError(path, "no such file", reason="missing") from None
    finally:
        os.close(fd)
    return data


#: Bytes asked for per read (MIDI files are mostly smaller).
_READ_SIZE = 1 << 16


def parse_midi(path: str | Path) -> ParsedMidi:
    """Read and parse one Standard MIDI File (type 0 or 1); :func:`pieces_from_parsed` makes Pieces.

    Raises:
        InputError: the file is missing ("missing"), empty ("empty"), not a MIDI file or damaged
            ("corrupt").
    """
    p = os.fspath(path)
    data = _read_file(p)
    if not data:
        raise InputError(p, "the file is empty", reason="empty")
    if not data.startswith(b"MThd"):
        raise InputError(p, "not a MIDI file (no 'MThd' header)", reason="corrupt")
    try:
        score = _SCORE_TICK.from_midi(data) if _SCORE_TICK is not None else symusic.Score.from_midi(data, ttype="tick")
    except Exception as exc:  # symusic raises RuntimeError/ValueError with its own text
        raise InputError(p, f"damaged MIDI file ({exc})", reason="corrupt") from None
    return parse_score(score, p)


def _note_order(
    file: np.ndarray, onset: np.ndarray, duration: np.ndarray, pitch: np.ndarray, track: np.ndarray, n_files: int
) -> np.ndarray | None:
    """The permutation that sorts notes by (file, onset, track, pitch, duration), stably; None when
    they already are in that order -- the common case. Within a file this is the order of
    :func:`~musicgen.piece.sort_notes`.

    One packed integer per note stands for (file, onset, track, pitch): the notes are in order when
    it rises, or when it never falls and the notes that share it (a note given twice) come in order
    of duration. Otherwise a stable sort of it (which merges the tracks' already sorted runs) gives
    the order, where notes that share it are then sorted by duration; when the fields do not fit,
    :func:`numpy.lexsort` does.
    """
    if onset.size < 2:
        return None
    fits = (
        n_files <= _MAX_PACKED_FILES
        and track.max() < (1 << _TRACK_BITS)
        and pitch.min() >= 0
        and pitch.max() < (1 << _PITCH_BITS)
    )
    if fits and onset.min() >= 0 and onset.max() < (1 << _ONSET_BITS):
        packed = file << (_ONSET_BITS + _TRACK_BITS + _PITCH_BITS)
        packed |= onset << (_TRACK_BITS + _PITCH_BITS)
        packed |= track << _PITCH_BITS
        packed |= pitch
        if (packed[1:] > packed[:-1]).all():
            return None
        if (packed[1:] >= packed[:-1]).all():
            ties = np.flatnonzero(packed[1:] == packed[:-1])
            if (duration[ties + 1] >= duration[ties]).all():
                return None
        order = packed.argsort(kind="stable")
        in_order = packed[order]
        tie = in_order[1:] == in_order[:-1]
        if not tie.any():
            return order
        # the notes at one (file, onset, track, pitch) by duration: one more stable sort, of a key that
        # is in order but within those groups
        group = np.zeros(order.size, dtype=np.int64)
        np.cumsum(~tie, out=group[1:])
        dur = duration[order]
        top = int(dur.max())
        if dur.min() >= 0 and top < (1 << 31):
            return order[(group * (top + 1) + dur).argsort(kind="stable")]
    return np.lexsort((duration, pitch, track, onset, file))


def _tick(row: tuple) -> float:
    return row[0]


def _maps(rows_per_file: list[list[tuple]], default: tuple, dtype: type) -> tuple[np.ndarray, list[int]]:
    """Each file's rows sorted by tick (stable), starting at tick 0 (``default`` before the first row,
    or alone when there is none), in one array for all files: (the rows, the first row of each file
    and the end)."""
    flat: list[tuple] = []
    bounds = [0]
    for rows in rows_per_file:
        if len(rows) > 1:
            rows = sorted(rows, key=_tick)
        if not rows or rows[0][0] != 0:
            flat.append(default)
        flat += rows
        bounds.append(len(flat))
    return np.array(flat, dtype=dtype), bounds


@dataclass
class AssembledMidi:
    """Parsed MIDI files assembled together (see :func:`assemble_parsed`).

    Attributes:
        parsed: the files.
        n_notes: int64 (F,), the notes of each file; the notes of all files follow each other, file
            after file, each file's sorted by (onset, track, pitch, duration) as
            :func:`~musicgen.piece.sort_notes` sorts a piece.
        onset, duration: int64 (N,), each note's onset and duration in ticks (of its file's resolution).
        pitch: int64 (N,), MIDI pitches.
        velocity: int8 (N,).
        track: int64 (N,), the note's track in its file.
        drum: bool (N,), notes of drum tracks.
        meter: int64 (M, 3), the meter map of each file, file after file: (tick, numerator, denominator)
            sorted by tick (stable), from tick 0 (4/4 before the first time signature); file f's rows
            are ``meter_bounds[f]:meter_bounds[f + 1]``.
        tempo: float64 (T, 2), the tempo maps likewise: (tick, quarter notes per minute), from tick 0
            (120 before the first tempo); file f's rows are ``tempo_bounds[f]:tempo_bounds[f + 1]``.
    """

    parsed: list[ParsedMidi]
    n_notes: np.ndarray
    onset: np.ndarray
    duration: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    track: np.ndarray
    drum: np.ndarray
    meter: np.ndarray
    meter_bounds: list[int]
    tempo: np.ndarray
    tempo_bounds: list[int]


def assemble_parsed(parsed: list[ParsedMidi]) -> AssembledMidi:
    """The notes and maps of parsed MIDI files, all assembled together with a fixed number of numpy
    calls (see :class:`AssembledMidi`; :func:`pieces_from_parsed` makes Pieces of them)."""
    blobs = [b for p in parsed for b in p.notes]
    track_no = [t for p in parsed for t in range(len(p.notes))]
    file_of_track = [f for f, p in enumerate(parsed) for _ in p.notes]
    if blobs:
        lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // _NOTE_RECORD.itemsize
        records = np.frombuffer(b"".join(blobs), dtype=_NOTE_RECORD)
        onset = records["time"].astype(np.int64)
        duration = records["duration"].astype(np.int64)
        pitch = records["pitch"].astype(np.int64)
        velocity = records["velocity"]
        track = np.repeat(np.array(track_no, dtype=np.int64), lengths)
        file = np.repeat(np.array(file_of_track, dtype=np.int64), lengths)
        n_notes = np.bincount(file_of_track, weights=lengths, minlength=len(parsed)).astype(np.int64)
        drum_tracks = [t.is_drum for p in parsed for t in p.tracks]
        drum = np.repeat(np.array(drum_tracks), lengths) if any(drum_tracks) else np.zeros(onset.size, dtype=bool)
    else:
        onset = duration = pitch = track = file = np.zeros(0, dtype=np.int64)
        velocity = np.zeros(0, dtype=np.int8)
        drum = np.zeros(0, dtype=bool)
        n_notes = np.zeros(len(parsed), dtype=np.int64)
    order = _note_order(file, onset, duration, pitch, track, len(parsed))
    if order is not None:
        onset, duration, pitch, velocity, track, drum = (
            onset[order],
            duration[order],
            pitch[order],
            velocity[order],
            track[order],
            drum[order],
        )
    meter, meter_bounds = _maps([p.meter for p in parsed], (0, 4, 4), np.int64)
    tempo, tempo_bounds = _maps([p.tempo for p in parsed], (0.0, 120.0), np.float64)
    return AssembledMidi(
        parsed, n_notes, onset, duration, pitch, velocity, track, drum, meter, meter_bounds, tempo, tempo_bounds
    )


def pieces_from_parsed(parsed: list[ParsedMidi]) -> list[Piece]:
    """Pieces from parsed MIDI files, one per file, all assembled together (:func:`assemble_parsed`).

    Each piece holds every note of every track, sorted by (onset, track, pitch, duration) as
    :func:`~musicgen.piece.sort_notes` does; quarter-note times are ticks / resolution. The meter
    and tempo maps start at tick 0 (4/4 and 120 quarter notes per minute before the first event);
    the key is the file's first key signature, if any. The pieces' note arrays (and their meter and
    tempo maps) are slices of one array (each piece owns its own rows).
    """
    if not parsed:
        return []
    a = assemble_parsed(parsed)
    resolutions = [p.resolution for p in parsed]
    if len(set(resolutions)) == 1:
        res = resolutions[0]
    else:
        res = np.repeat(np.array(resolutions, dtype=np.int64), a.n_notes)
    notes = np.empty(a.onset.size, dtype=NOTE_DTYPE)
    notes["onset_tick"] = a.onset
    notes["duration_tick"] = a.duration
    notes["pitch"] = a.pitch
    notes["velocity"] = a.velocity
    notes["track"] = a.track
    notes["onset"] = a.onset / res
    notes["duration"] = a.duration / res
    bounds = [0, *np.cumsum(a.n_notes).tolist()]
    mb, tb = a.meter_bounds, a.tempo_bounds
    return [
        Piece(
            notes=notes[bounds[f] : bounds[f + 1]],
            resolution=p.resolution,
            tracks=p.tracks or [Track()],
            time_signatures=a.meter[mb[f] : mb[f + 1]],
            tempos=a.tempo[tb[f] : tb[f + 1]],
            key=p.key,
            title=os.path.splitext(os.path.basename(p.source))[0] if p.source else "",
            source=p.source,
        )
        for f, p in enumerate(parsed)
    ]


def piece_from_score(score: symusic.Score, source: str = "") -> Piece:
    """Convert a tick-based symusic Score to a :class:`Piece` (every note, every track; see
    :func:`pieces_from_parsed` for the order and the maps)."""
    return pieces_from_parsed([parse_score(score, source)])[0]


def read_midi(path: str | Path) -> Piece:
    """Read a Standard MIDI File (type 0 or 1) into a :class:`Piece`, keeping ticks exactly.

    A file written by :func:`midi_bytes` reads back with every note's pitch, onset, duration and
    velocity unchanged — except notes that overlap another note of the same pitch in the same track,
    which MIDI itself cannot tell apart (note-offs are paired first-in, first-out).

    Raises:
        InputError: the file is missing ("missing"), empty ("empty"), not a MIDI file or damaged
            ("corrupt").
    """
    return pieces_from_parsed([parse_midi(path)])[0]


def piece_to_score(piece: Piece) -> symusic.Score:
    """Convert a :class:`Piece` to a symusic Score (ticks kept exactly; one symusic track per track)."""
    score = symusic.Score(int(piece.resolution))
    for tick, num, den in piece.time_signatures:
        score.time_signatures.append(symusic.TimeSignature(int(tick), int(num), int(den)))
    for tick, qpm in piece.tempos:
        score.tempos.append(symusic.Tempo(int(tick), float(qpm)))
    if piece.key is not None:
        sharps, minor = _signature_from_key(piece.key)
        score.key_signatures.append(symusic.KeySignature(0, sharps, minor))
    notes = piece.notes
    for i, tr in enumerate(piece.tracks):
        t = symusic.Track(
            tr.name or ("Violin" if tr.program == VIOLIN_PROGRAM else f"Track {i + 1}"),
            int(tr.program),
            bool(tr.is_drum),
        )
        sel = notes[notes["track"] == i]
        for row in sel:
            t.notes.append(
                symusic.Note(int(row["onset_tick"]), int(row["duration_tick"]), int(row["pitch"]), int(row["velocity"]))
            )
        score.tracks.append(t)
    return score


def midi_bytes(piece: Piece) -> bytes:
    """The bytes of a Standard MIDI File for ``piece`` (deterministic for the same piece)."""
    return bytes(piece_to_score(piece).dumps_midi())
