"""MusicXML and ABC through music21: stream -> Piece and Piece -> MusicXML.

Conventions when reading notation:

* ties are merged into single notes (``stripTies``); grace notes (zero length) are dropped and counted
  in ``piece.meta["grace_notes_dropped"]``; chords (double stops) become one note per pitch;
* a pickup (anacrusis) bar is padded with rests at its start, so that every downbeat lies at a multiple
  of the bar length from time 0 (``piece.meta["pickup_padding_qn"]`` is the padding added, in quarter
  notes, and ``piece.meta["pickup_qn"]`` the pickup's own length; both 0 without a pickup);
* ticks are quarter lengths times :data:`~musicgen.piece.DEFAULT_RESOLUTION` (480, which holds
  sixteenths, triplets and sextuplets exactly), rounded to the nearest tick.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from musicgen.errors import InputError
from musicgen.piece import DEFAULT_RESOLUTION, VIOLIN_PROGRAM, Key, Piece, Track

NOTATION_SUFFIXES = (".xml", ".musicxml", ".mxl", ".abc")

_QUALITY = {"major": 0, "minor": 1, "diminished": 2, "augmented": 3}


def _chord_quality(kind: str) -> int:
    """Map a music21 chord kind ("major-seventh", "minor", "dominant-seventh"...) to a triad quality."""
    kind = (kind or "major").lower()
    if kind.startswith("minor") or kind in ("half-diminished",):
        return _QUALITY["minor"] if kind.startswith("minor") else _QUALITY["diminished"]
    if kind.startswith("diminished"):
        return _QUALITY["diminished"]
    if kind.startswith("augmented"):
        return _QUALITY["augmented"]
    return _QUALITY["major"]


def _time_signatures(measures, flat_all, shift: Fraction, res: int) -> np.ndarray:
    """Meter changes as (tick, num, den) rows, read per measure.

    music21's ABC reader gives a short bar (a repeat's first ending, a final half bar) a time signature
    of its own (e.g. 1/4 inside 2/4); a meter that lasts a single bar shorter than the meter around it
    is such an artefact and is dropped.
    """
    from music21 import meter

    runs: list[list] = []  # [tick, num, den, n_measures, bar_ql]
    current = None
    for m in measures:
        if m.timeSignature is not None:
            current = m.timeSignature
        if current is None:
            continue
        sig = (int(current.numerator), int(current.denominator))
        tick = int(round((Fraction(m.offset).limit_denominator(10000) + shift) * res))
        if runs and (runs[-1][1], runs[-1][2]) == sig:
            runs[-1][3] += 1
        else:
            runs.append([tick, sig[0], sig[1], 1, sig[0] * 4.0 / sig[1]])
    if not runs:
        ts = list(flat_all.getElementsByClass(meter.TimeSignature))
        runs = [[0, int(ts[0].numerator), int(ts[0].denominator), 1, 0.0]] if ts else [[0, 4, 4, 1, 4.0]]
    kept: list[list] = []
    for i, r in enumerate(runs):
        short = (
            r[3] == 1
            and len(runs) > 1
            and (
                (kept and r[4] < kept[-1][4])
                or (not kept and i + 1 < len(runs) and r[4] < runs[i + 1][4] and shift == 0)
            )
        )
        if short:
            continue
        if kept and (kept[-1][1], kept[-1][2]) == (r[1], r[2]):
            continue
        kept.append(r)
    kept[0][0] = 0
    return np.asarray([[r[0], r[1], r[2]] for r in kept], dtype=np.int64)


def piece_from_stream(stream, source: str = "", title: str | None = None) -> Piece:
    """Convert a music21 Score/Part/Stream into a :class:`Piece` (one track per part).

    Raises:
        ValueError: the stream has no pitched notes.
    """
    from music21 import harmony, tempo
    from music21 import key as m21key

    res = DEFAULT_RESOLUTION
    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    # pickup: music21 marks an anacrusis with paddingLeft on the first measure
    shift = Fraction(0)
    first_measures = parts[0].getElementsByClass("Measure")
    if len(first_measures):
        shift = Fraction(first_measures[0].paddingLeft or 0).limit_denominator(10000)

    rows = []
    tracks: list[Track] = []
    grace = 0
    for ti, part in enumerate(parts):
        name = part.partName or ""
        tracks.append(Track(name=name or "Violin", program=VIOLIN_PROGRAM))
        flat = part.stripTies().flatten()
        for el in flat.notes:
            if isinstance(el, harmony.ChordSymbol):
                continue
            ql = Fraction(el.quarterLength).limit_denominator(10000)
            if ql <= 0:
                grace += 1
                continue
            start = Fraction(el.offset).limit_denominator(10000) + shift
            vel = el.volume.velocity if el.volume is not None and el.volume.velocity else 80
            pitches = el.pitches
            for p in pitches:
                rows.append((int(round(start * res)), int(round(ql * res)), int(p.midi), int(vel), ti))
    if not rows:
        raise ValueError("no pitched notes")
    arr = np.asarray(rows, dtype=np.int64)

    flat_all = stream.flatten()
    sig = _time_signatures(first_measures, flat_all, shift, res)
    tempos = []
    for mm in flat_all.getElementsByClass(tempo.MetronomeMark):
        bpm = mm.getQuarterBPM()
        if bpm:
            tick = 0 if not tempos else int(round((Fraction(mm.offset).limit_denominator(10000) + shift) * res))
            tempos.append((float(tick), float(bpm)))
    key = None
    ks = list(flat_all.getElementsByClass(m21key.KeySignature))
    if ks:
        k = ks[0] if isinstance(ks[0], m21key.Key) else ks[0].asKey()
        mode = "minor" if k.mode == "minor" else "major"
        key = Key(int(k.tonic.pitchClass), mode)
    chords = []
    for cs in flat_all.getElementsByClass(harmony.ChordSymbol):
        if cs.root() is None:
            continue
        on = float(Fraction(cs.offset).limit_denominator(10000) + shift)
        chords.append((on, float(cs.root().pitchClass), float(_chord_quality(cs.chordKind))))
    meta_title = title
    if meta_title is None and stream.metadata is not None:
        meta_title = stream.metadata.title
    piece = Piece.from_arrays(
        arr[:, 0],
        arr[:, 1],
        arr[:, 2],
        arr[:, 3],
        arr[:, 4],
        resolution=res,
        tracks=tracks,
        time_signatures=sig,
        tempos=np.asarray(tempos or [(0.0, 120.0)], dtype=float),
        key=key,
        chords=np.asarray(chords, dtype=float).reshape(-1, 3),
        title=meta_title or (Path(source).stem if source else ""),
        source=source,
    )
    piece.meta["pickup_padding_qn"] = float(shift)
    piece.meta["pickup_qn"] = float(piece.bar_length - float(shift)) if shift > 0 else 0.0
    piece.meta["grace_notes_dropped"] = grace
    piece.meta["has_tempo"] = bool(tempos)
    return piece


def read_notation(path: str | Path, number: int | None = None) -> Piece:
    """Read MusicXML (.xml/.musicxml/.mxl) or ABC (.abc) into a :class:`Piece`.

    For an ABC file that holds several tunes, ``number`` picks the tune by its ``X:`` number; by
    default the first tune is read.

    Raises:
        InputError: empty file ("empty"), unparsable text ("corrupt"), no notes ("no notes").
    """
    from music21 import converter
    from music21 import stream as m21stream

    p = Path(path)
    if p.stat().st_size == 0:
        raise InputError(p, "the file is empty", reason="empty")
    try:
        s = converter.parse(str(p), format="abc" if p.suffix.lower() == ".abc" else None)
    except Exception as exc:
        raise InputError(
            p, f"cannot parse as {p.suffix.lstrip('.')} ({str(exc).splitlines()[0][:120]})", reason="corrupt"
        ) from None
    if isinstance(s, m21stream.Opus):
        scores = list(s.scores)
        if not scores:
            raise InputError(p, "no tunes found", reason="no notes")
        if number is not None:
            match = [sc for sc in scores if sc.metadata is not None and str(sc.metadata.number) == str(number)]
            if not match:
                raise InputError(p, f"no tune with X:{number}", reason="unsupported")
            s = match[0]
        else:
            s = scores[0]
    try:
        return piece_from_stream(s, str(p))
    except ValueError:
        raise InputError(p, "the file holds no notes", reason="no notes") from None


def piece_to_stream(piece: Piece):
    """Convert a :class:`Piece` to a music21 Score (one Part per track, notation made by music21)."""
    from music21 import chord, instrument, meter, note, stream, tempo
    from music21 import key as m21key

    score = stream.Score()
    if piece.title:
        from music21 import metadata

        score.metadata = metadata.Metadata(title=piece.title)
    num, den = piece.time_signature
    for ti, tr in enumerate(piece.tracks):
        part = stream.Part()
        part.partName = tr.name or "Violin"
        part.insert(
            0, instrument.Violin() if tr.program == VIOLIN_PROGRAM else instrument.instrumentFromMidiProgram(tr.program)
        )
        part.insert(0, meter.TimeSignature(f"{num}/{den}"))
        if ti == 0:
            part.insert(0, tempo.MetronomeMark(number=round(piece.tempo, 2)))
        if piece.key is not None:
            part.insert(
                0,
                m21key.Key(
                    ["C", "C#", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B"][piece.key.tonic], piece.key.mode
                ),
            )
        sel = piece.notes[piece.notes["track"] == ti]
        # group simultaneous notes with the same duration into chords (double stops)
        i = 0
        while i < sel.size:
            j = i + 1
            while (
                j < sel.size
                and sel["onset_tick"][j] == sel["onset_tick"][i]
                and sel["duration_tick"][j] == sel["duration_tick"][i]
            ):
                j += 1
            ql = Fraction(int(sel["duration_tick"][i]), piece.resolution)
            off = Fraction(int(sel["onset_tick"][i]), piece.resolution)
            if j - i == 1:
                el = note.Note(int(sel["pitch"][i]), quarterLength=ql)
            else:
                el = chord.Chord([int(x) for x in sel["pitch"][i:j]], quarterLength=ql)
            el.volume.velocity = int(sel["velocity"][i])
            part.insert(off, el)
            i = j
        score.insert(0, part)
    return score


def musicxml_bytes(piece: Piece) -> bytes:
    """The bytes of an uncompressed MusicXML file for ``piece``."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    s = piece_to_stream(piece)
    return GeneralObjectExporter(s).parse()
