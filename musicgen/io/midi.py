"""MIDI reading and writing through symusic (a C++ MIDI parser), exact to the tick."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import symusic

from musicgen.errors import InputError
from musicgen.piece import NOTE_DTYPE, VIOLIN_PROGRAM, Key, Piece, Track, sort_notes

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


def piece_from_score(score: symusic.Score, source: str = "") -> Piece:
    """Convert a tick-based symusic Score to a :class:`Piece` (every note, every track)."""
    tracks: list[Track] = []
    per_track: list[np.ndarray] = []
    for i, tr in enumerate(score.tracks):
        tracks.append(Track(name=str(tr.name), program=int(tr.program), is_drum=bool(tr.is_drum)))
        arr = tr.notes.numpy()
        n = np.empty(len(arr["time"]), dtype=NOTE_DTYPE)
        n["onset_tick"] = arr["time"]
        n["duration_tick"] = arr["duration"]
        n["pitch"] = arr["pitch"]
        n["velocity"] = arr["velocity"]
        n["track"] = i
        per_track.append(n)
    res = int(score.ticks_per_quarter)
    if len(per_track) == 1:
        notes = per_track[0]
    elif per_track:
        notes = np.concatenate(per_track)
    else:
        notes = np.zeros(0, dtype=NOTE_DTYPE)
    notes["onset"] = notes["onset_tick"] / res
    notes["duration"] = notes["duration_tick"] / res

    sigs = [(int(t.time), int(t.numerator), int(t.denominator)) for t in score.time_signatures]
    if sigs:
        sig = np.asarray(sorted(sigs, key=lambda r: r[0]), dtype=np.int64)
        if sig[0, 0] != 0:
            sig = np.vstack([[0, 4, 4], sig])
    else:
        sig = np.array([[0, 4, 4]], dtype=np.int64)
    tps = [(float(t.time), 60_000_000.0 / float(t.mspq)) for t in score.tempos]
    if tps:
        tempos = np.asarray(sorted(tps, key=lambda r: r[0]))
        if tempos[0, 0] != 0:
            tempos = np.vstack([[0.0, 120.0], tempos])
    else:
        tempos = np.array([[0.0, 120.0]])
    ks = score.key_signatures
    key = _key_from_signature(ks[0].key, ks[0].tonality) if len(ks) else None
    return Piece(
        notes=sort_notes(notes),
        resolution=res,
        tracks=tracks or [Track()],
        time_signatures=sig,
        tempos=tempos,
        key=key,
        title=os.path.splitext(os.path.basename(source))[0] if source else "",
        source=source,
    )


def read_midi(path: str | Path) -> Piece:
    """Read a Standard MIDI File (type 0 or 1) into a :class:`Piece`, keeping ticks exactly.

    A file written by :func:`midi_bytes` reads back with every note's pitch, onset, duration and
    velocity unchanged — except notes that overlap another note of the same pitch in the same track,
    which MIDI itself cannot tell apart (note-offs are paired first-in, first-out).

    Raises:
        InputError: the file is empty (reason "empty"), is not a MIDI file or is damaged ("corrupt").
    """
    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise InputError(p, "no such file", reason="missing") from None
    if not data:
        raise InputError(p, "the file is empty", reason="empty")
    if not data.startswith(b"MThd"):
        raise InputError(p, "not a MIDI file (no 'MThd' header)", reason="corrupt")
    try:
        score = symusic.Score.from_midi(data, ttype="tick")
    except Exception as exc:  # symusic raises RuntimeError/ValueError with its own text
        raise InputError(p, f"damaged MIDI file ({exc})", reason="corrupt") from None
    return piece_from_score(score, p)


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
        t = symusic.Track(tr.name or ("Violin" if tr.program == VIOLIN_PROGRAM else f"Track {i + 1}"), int(tr.program), bool(tr.is_drum))
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
