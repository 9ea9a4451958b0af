"""Note-statistics metrics over a :class:`~musicgen.piece.Piece`, following MusPy's definitions.

Every metric here is one small function that takes either a :class:`Piece` (and returns a float) or a
:class:`NoteBatch` — the notes of many pieces concatenated — and returns one value per piece as a
float array. The batch form exists for speed: ``musicgen evaluate`` scores hundreds of files with a
handful of numpy calls per *batch* instead of per file. There is one implementation per metric; the
Piece form wraps the piece in a batch of one.

Conventions (the same as MusPy 0.5, whose ``muspy.metrics`` is the reference):

* drum tracks carry no pitch: pitch metrics ignore them; time metrics that MusPy computes over all
  tracks (``empty_beat_rate``, ``groove_consistency``) include them, as MusPy does;
* times are the file's ticks; a *beat* is a quarter note (``resolution`` ticks), as in MusPy;
* a *bar* is a bar of the piece's first time signature, counted from time 0 (notation readers pad a
  pickup bar, see :mod:`musicgen.io.notation`); later meter changes are not followed;
* a metric that is undefined for a piece (no notes, too short) is ``nan``.

Which metric equals which MusPy function exactly (tests check it on real MIDI files):
``pitch_class_entropy`` = ``muspy.pitch_class_entropy``, ``scale_consistency`` =
``muspy.scale_consistency``, ``polyphony`` = ``muspy.polyphony``, ``pitch_range`` =
``muspy.pitch_range`` (nan instead of 0 when there is no note), ``empty_beat_rate`` =
``muspy.empty_beat_rate``, ``groove_consistency`` = ``muspy.groove_consistency(music, ticks per
bar)``. ``pitch_class_entropy_windowed`` is MusDr's (Wu & Yang 2020) windowed variant; the two note
densities are ours.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from musicgen.piece import Piece

__all__ = [
    "NoteBatch",
    "pitch_class_histogram",
    "pitch_class_entropy",
    "pitch_class_entropy_windowed",
    "windowed_pce",
    "scale_consistency",
    "polyphony",
    "pitch_range",
    "empty_beat_rate",
    "note_density",
    "notes_per_second",
    "groove_consistency",
    "n_pitched_notes",
]


@dataclass
class NoteBatch:
    """The notes of ``n_pieces`` pieces, concatenated piece after piece (one row per note).

    Attributes:
        n_pieces: number of pieces P.
        piece: int64 (N,), the piece index of each note (non-decreasing).
        onset: int64 (N,), note onsets in ticks (of that piece's resolution).
        end: int64 (N,), note ends (onset + duration) in ticks.
        pitch: int64 (N,), MIDI pitches.
        drum: bool (N,), true for notes on drum tracks.
        resolution: int64 (P,), ticks per quarter note of each piece.
        bar_ticks: int64 (P,), ticks per bar of each piece's first time signature.
        tempo_piece, tempo_tick, tempo_qpm: the tempo maps, concatenated (piece index, tick, quarter
            notes per minute), sorted by piece then tick.
    """

    n_pieces: int
    piece: np.ndarray
    onset: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    drum: np.ndarray
    resolution: np.ndarray
    bar_ticks: np.ndarray
    tempo_piece: np.ndarray
    tempo_tick: np.ndarray
    tempo_qpm: np.ndarray

    @classmethod
    def from_pieces(cls, pieces: Sequence[Piece]) -> "NoteBatch":
        """Concatenate the notes of ``pieces`` (any number, including pieces without notes)."""
        n = len(pieces)
        lens = np.empty(n, dtype=np.int64)
        resolution = np.empty(n, dtype=np.int64)
        bar_ticks = np.empty(n, dtype=np.int64)
        tlens = np.empty(n, dtype=np.int64)
        with_drums = []
        for i, p in enumerate(pieces):
            lens[i] = p.notes.size
            resolution[i] = p.resolution
            ts = p.time_signatures[0]
            bar_ticks[i] = max(1, round(int(ts[1]) * 4 * p.resolution / int(ts[2])))
            tlens[i] = len(p.tempos)
            for t in p.tracks:
                if t.is_drum:
                    with_drums.append(i)
                    break
        notes = np.concatenate([p.notes for p in pieces]) if n else Piece.empty().notes
        piece = np.repeat(np.arange(n, dtype=np.int64), lens)
        onset = notes["onset_tick"].astype(np.int64)
        end = onset + notes["duration_tick"]
        drum = np.zeros(onset.size, dtype=bool)
        if with_drums:
            starts = np.concatenate([[0], np.cumsum(lens)])
            for i in with_drums:
                p = pieces[i]
                drum_tracks = [k for k, t in enumerate(p.tracks) if t.is_drum]
                drum[starts[i] : starts[i + 1]] = np.isin(p.notes["track"], drum_tracks)
        tempos = np.concatenate([p.tempos for p in pieces]).astype(float).reshape(-1, 2) if n else np.zeros((0, 2))
        return cls(
            n_pieces=n,
            piece=piece,
            onset=onset,
            end=end,
            pitch=notes["pitch"].astype(np.int64),
            drum=drum,
            resolution=resolution,
            bar_ticks=bar_ticks,
            tempo_piece=np.repeat(np.arange(n, dtype=np.int64), tlens),
            tempo_tick=tempos[:, 0].astype(np.int64),
            tempo_qpm=tempos[:, 1].astype(float),
        )

    def pitched(self) -> np.ndarray:
        """Boolean mask of the notes that carry a pitch (not on a drum track)."""
        return ~self.drum


Metric = Callable[..., np.ndarray]


def _per_piece(fn: Metric) -> Callable:
    """Let a batch metric also take a single :class:`Piece` (then it returns a Python float)."""

    @functools.wraps(fn)
    def wrapper(music, *args, **kwargs):
        if isinstance(music, NoteBatch):
            return fn(music, *args, **kwargs)
        if isinstance(music, Piece):
            return float(fn(NoteBatch.from_pieces([music]), *args, **kwargs)[0])
        raise TypeError(f"expected a Piece or a NoteBatch, got {type(music).__name__}")

    return wrapper


def _union_length(key: np.ndarray, start: np.ndarray, end: np.ndarray, n_keys: int, order: np.ndarray | None = None) -> np.ndarray:
    """Total length of the union of the half-open intervals [start, end) of each key (0..n_keys-1).

    Vectorised: intervals are taken in an order where keys increase and, within a key, starts do not
    decrease (``order``, computed when not given); a running maximum of the ends (keys offset so that
    they never mix) tells how much of each interval is new.
    """
    if key.size == 0:
        return np.zeros(n_keys, dtype=np.int64)
    if order is None:
        order = np.lexsort((start, key))
    k, s = key[order], start[order]
    e = np.maximum(end[order], s)
    span = int(e.max()) + 1
    shift = k * span
    s2, e2 = s + shift, e + shift
    reach = np.maximum.accumulate(e2)
    before = np.empty_like(reach)
    before[0] = np.iinfo(np.int64).min
    before[1:] = reach[:-1]
    new = np.maximum(0, e2 - np.maximum(s2, before))
    return np.bincount(k, weights=new, minlength=n_keys).astype(np.int64)


def _onset_order(b: NoteBatch, mask: np.ndarray | None = None) -> np.ndarray | None:
    """None when the (selected) notes are already in (piece, onset) order — readers sort them so."""
    p = b.piece if mask is None else b.piece[mask]
    o = b.onset if mask is None else b.onset[mask]
    if p.size < 2 or not ((p[1:] == p[:-1]) & (o[1:] < o[:-1])).any():
        return None
    return np.lexsort((o, p))


def _piece_max(b: NoteBatch, values: np.ndarray, mask: np.ndarray | None = None, fill=0) -> np.ndarray:
    """Per-piece maximum of ``values`` (over ``mask``), ``fill`` for pieces without rows."""
    out = np.full(b.n_pieces, fill, dtype=values.dtype)
    if mask is not None:
        values, idx = values[mask], b.piece[mask]
    else:
        idx = b.piece
    np.maximum.at(out, idx, values) if values.size < 64 else _max_sorted(out, idx, values)
    return out


def _max_sorted(out: np.ndarray, idx: np.ndarray, values: np.ndarray) -> None:
    """out[i] = max(out[i], max(values[idx == i])) for non-decreasing ``idx`` (reduceat, no Python loop)."""
    if not idx.size:
        return
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    out[idx[starts]] = np.maximum(out[idx[starts]], np.maximum.reduceat(values, starts))


# ---------------------------------------------------------------------------------------- pitch


@_per_piece
def n_pitched_notes(b: NoteBatch) -> np.ndarray:
    """Number of notes on non-drum tracks (a count, as float)."""
    return np.bincount(b.piece[b.pitched()], minlength=b.n_pieces).astype(float)


def pitch_class_histogram(b: NoteBatch) -> np.ndarray:
    """Note counts per pitch class (0 = C), drums ignored: float array (P, 12)."""
    m = b.pitched()
    codes = b.piece[m] * 12 + b.pitch[m] % 12
    return np.bincount(codes, minlength=12 * b.n_pieces).reshape(b.n_pieces, 12).astype(float)


def _entropy_rows(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits of each row's normalised histogram; nan for all-zero rows."""
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / total
        return -np.nansum(p * np.log2(p), axis=1) + np.where(total[:, 0] > 0, 0.0, np.nan)


@_per_piece
def pitch_class_entropy(b: NoteBatch) -> np.ndarray:
    """Pitch Class Entropy in bits: ``-sum_i P(i) log2 P(i)`` over the 12 pitch classes.

    ``P(i)`` is the fraction of (non-drum) notes whose pitch class is ``i``; every note counts once,
    whatever its duration (MusPy's ``pitch_class_entropy``). Range 0 (one pitch class) to
    log2(12) ≈ 3.585. nan when the piece has no pitched note.
    """
    return _entropy_rows(pitch_class_histogram(b))


def _bars_of_onsets(b: NoteBatch, mask: np.ndarray) -> np.ndarray:
    """Bar index (first meter, from time 0) of the onset of each selected note."""
    return b.onset[mask] // b.bar_ticks[b.piece[mask]]


def windowed_pce(b: NoteBatch, windows: Sequence[int] = (1, 4)) -> dict[int, np.ndarray]:
    """:func:`pitch_class_entropy_windowed` for several window lengths at once (one bar histogram)."""
    if any(w < 1 for w in windows):
        raise ValueError("window_bars must be at least 1")
    m = b.pitched()
    P = b.n_pieces
    bar = _bars_of_onsets(b, m)
    pidx = b.piece[m]
    n_bars = np.zeros(P, dtype=np.int64)
    if bar.size:
        _max_sorted(n_bars, pidx, bar + 1)
    first = np.concatenate([[0], np.cumsum(n_bars)])  # global bar offset of each piece
    total_bars = int(first[-1])
    counts = np.bincount((first[pidx] + bar) * 12 + b.pitch[m] % 12, minlength=12 * total_bars).reshape(total_bars, 12)
    csum = np.vstack([np.zeros((1, 12), dtype=np.int64), np.cumsum(counts, axis=0)])
    out = {}
    for window_bars in windows:
        # windows: for piece p, start bars 0..n_bars-w (w = min(window, n_bars))
        w = np.minimum(window_bars, n_bars)
        n_win = np.where(n_bars > 0, n_bars - w + 1, 0)
        wp = np.repeat(np.arange(P), n_win)
        if wp.size == 0:
            out[window_bars] = np.full(P, np.nan)
            continue
        wstart = np.arange(wp.size) - np.repeat(np.cumsum(n_win) - n_win, n_win)
        lo = first[wp] + wstart
        ent = _entropy_rows((csum[lo + w[wp]] - csum[lo]).astype(float))
        ok = ~np.isnan(ent)
        s = np.bincount(wp[ok], weights=ent[ok], minlength=P)
        c = np.bincount(wp[ok], minlength=P)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[window_bars] = np.where(c > 0, s / np.maximum(c, 1), np.nan)
    return out


@_per_piece
def pitch_class_entropy_windowed(b: NoteBatch, window_bars: int = 1) -> np.ndarray:
    """MusDr's windowed Pitch Class Entropy (Wu & Yang 2020), in bits.

    The pitch-class entropy of the notes whose onsets fall in ``window_bars`` consecutive bars,
    averaged over all windows sliding by one bar (windows without notes are skipped). A piece shorter
    than the window is one window (MusDr shrinks the window). Bars run from time 0 to the bar of the
    last onset. MusDr reports it for 1- and 4-bar windows ("H1", "H4"). nan without pitched notes.

    Raises:
        ValueError: ``window_bars`` < 1.
    """
    return windowed_pce(b, (window_bars,))[window_bars]


#: In-scale masks of the 24 major and natural-minor scales (rows: C major .. B major, C minor .. B minor).
_SCALES = np.array(
    [np.roll([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], r) for r in range(12)]
    + [np.roll([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], r) for r in range(12)],
    dtype=float,
)


@_per_piece
def scale_consistency(b: NoteBatch) -> np.ndarray:
    """Largest fraction of (non-drum) notes inside one of the 24 major / natural-minor scales (0..1).

    MusPy's ``scale_consistency`` (Mogren 2016): each note counts once. nan without pitched notes.
    """
    h = pitch_class_histogram(b)
    total = h.sum(axis=1)
    best = (h @ _SCALES.T).max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, best / np.maximum(total, 1), np.nan)


@_per_piece
def pitch_range(b: NoteBatch) -> np.ndarray:
    """Highest minus lowest (non-drum) MIDI pitch, in semitones. nan without pitched notes.

    MusPy's ``pitch_range`` (which returns 0 for a piece without notes).
    """
    m = b.pitched()
    used = np.bincount(b.piece[m] * 128 + b.pitch[m], minlength=128 * b.n_pieces).reshape(b.n_pieces, 128) > 0
    any_ = used.any(axis=1)
    hi = 127 - np.argmax(used[:, ::-1], axis=1)
    lo = np.argmax(used, axis=1)
    return np.where(any_, (hi - lo).astype(float), np.nan)


# ---------------------------------------------------------------------------------------- time


@_per_piece
def polyphony(b: NoteBatch) -> np.ndarray:
    """Mean number of (non-drum) pitches sounding, over the ticks where at least one sounds.

    MusPy's ``polyphony``: a pitch that sounds twice at once (overlapping notes of one pitch) counts
    once. 1.0 for a monophonic melody; nan without pitched notes of non-zero length.
    """
    m = b.pitched()
    p, s, e, pitch = b.piece[m], b.onset[m], b.end[m], b.pitch[m]
    P = b.n_pieces
    by_onset = _onset_order(b, m)
    if by_onset is None:
        by_onset = np.arange(p.size)
    any_on = _union_length(p, s, e, P, order=by_onset)
    # pieces whose notes never overlap (melodies) need no per-pitch pass: there both unions are equal
    total = np.bincount(p, weights=np.maximum(e - s, 0), minlength=P)
    overlapping = total > any_on
    per_pitch = any_on.astype(float)
    if overlapping.any():
        sel = by_onset[overlapping[p[by_onset]]]
        # (pitch, piece, onset) order: a stable radix sort of the onset-ordered notes by pitch
        by_pitch = sel[np.argsort(pitch[sel].astype(np.int16), kind="stable")]
        per_pitch_all = _union_length(pitch * P + p, s, e, 128 * P, order=by_pitch).reshape(128, P).sum(axis=0)
        per_pitch[overlapping] = per_pitch_all[overlapping]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(any_on > 0, per_pitch / np.maximum(any_on, 1), np.nan)


def _length_ticks(b: NoteBatch) -> np.ndarray:
    """End of the last note (any track) of each piece, in ticks (0 without notes)."""
    return _piece_max(b, b.end, fill=np.int64(0))


@_per_piece
def empty_beat_rate(b: NoteBatch) -> np.ndarray:
    """Fraction of beats (quarter notes) in which no note sounds — the rest ratio (0..1).

    MusPy's ``empty_beat_rate``: the piece spans beats ``0 .. end // resolution`` (``end`` = the end
    of its last note, all tracks); a note occupies the beats from ``onset // resolution`` to
    ``end // resolution`` inclusive. nan when the piece is shorter than one tick.
    """
    length = _length_ticks(b)
    res = b.resolution
    n_beats = length // res + 1
    r = res[b.piece]
    order = _onset_order(b)  # beats follow onsets: (piece, onset) order is (piece, start beat) order
    covered = _union_length(
        b.piece, b.onset // r, b.end // r + 1, b.n_pieces, order=np.arange(b.piece.size) if order is None else order
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(length >= 1, 1.0 - covered / n_beats, np.nan)


def _span_ticks(b: NoteBatch) -> tuple[np.ndarray, np.ndarray]:
    """(first onset, last end) of the pitched notes of each piece, in ticks (0, 0 without notes)."""
    m = b.pitched()
    big = np.iinfo(np.int64).max
    first = -_piece_max(b, -b.onset, mask=m, fill=np.int64(-big))
    first = np.where(first == big, 0, first)
    last = _piece_max(b, b.end, mask=m, fill=np.int64(0))
    return first, last


@_per_piece
def note_density(b: NoteBatch) -> np.ndarray:
    """Pitched notes per beat (quarter note), from the first onset to the end of the last note.

    Tempo-free (see :func:`notes_per_second` for the rate at the written tempo). nan without pitched
    notes or when they span no time.
    """
    first, last = _span_ticks(b)
    n = n_pitched_notes(b)
    beats = (last - first) / b.resolution
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(beats > 0, n / np.where(beats > 0, beats, 1), np.nan)


def _seconds_between(b: NoteBatch, a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Seconds between ticks ``a[p]`` and ``z[p]`` of each piece under its tempo map."""
    tp, tt, tq = b.tempo_piece, b.tempo_tick, b.tempo_qpm
    if tp.size == 0:
        return (z - a) / b.resolution * 0.5  # 120 qpm
    # each tempo row holds from its tick to the next row's tick of the same piece (or forever)
    nxt = np.empty_like(tt)
    nxt[:-1] = np.where(tp[1:] == tp[:-1], tt[1:], np.iinfo(np.int64).max)
    nxt[-1] = np.iinfo(np.int64).max
    lo = np.maximum(tt, a[tp])
    hi = np.minimum(nxt, z[tp])
    ticks = np.maximum(0, hi - lo)
    # before the first tempo row MIDI means 120 qpm; readers start every map at tick 0
    secs = ticks / b.resolution[tp] * 60.0 / np.where(tq > 0, tq, 120.0)
    return np.bincount(tp, weights=secs, minlength=b.n_pieces)


@_per_piece
def notes_per_second(b: NoteBatch) -> np.ndarray:
    """Pitched notes per second at the piece's tempo map, from the first onset to the last note's end.

    nan without pitched notes or when they span no time.
    """
    first, last = _span_ticks(b)
    secs = _seconds_between(b, first, last)
    n = n_pitched_notes(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(secs > 0, n / np.where(secs > 0, secs, 1), np.nan)


@_per_piece
def groove_consistency(b: NoteBatch) -> np.ndarray:
    """Rhythmic self-similarity of consecutive bars (0..1; 1 = every bar has the same onset pattern).

    MusPy's ``groove_consistency`` with ``measure_resolution`` = ticks per bar of the first meter:
    ``1 - (Hamming distance between the onset vectors (one cell per tick) of neighbouring bars, summed)
    / (ticks per bar * (bars - 1))``, bars counted up to the end of the last note; all tracks. nan for
    pieces shorter than two bars.
    """
    P = b.n_pieces
    R = b.bar_ticks
    n_meas = _length_ticks(b) // R + 1
    offs = np.concatenate([[0], np.cumsum(n_meas)])
    width = int(R.max()) + 1 if P else 1
    # one code per (piece, bar, position) onset cell; sorted and deduplicated
    meas = b.onset // R[b.piece]
    codes = (offs[b.piece] + meas) * width + (b.onset - meas * R[b.piece])
    order = _onset_order(b)
    if order is not None:
        codes = codes[order]
    if codes.size > 1 and (codes[1:] < codes[:-1]).any():
        codes = np.sort(codes)
    if codes.size:
        codes = codes[np.r_[True, codes[1:] != codes[:-1]]]
    gm = codes // width
    piece_u = np.searchsorted(offs, gm, side="right") - 1
    cells = np.bincount(piece_u, minlength=P)  # onset cells per piece
    per_meas = np.bincount(gm, minlength=int(offs[-1]))
    # cells shared with the same position of the next bar of the same piece
    nxt = codes + width
    pos = np.minimum(np.searchsorted(codes, nxt), max(codes.size - 1, 0))
    hit = (codes[pos] == nxt) & (gm + 1 < offs[piece_u + 1]) if codes.size else np.zeros(0, bool)
    shared = np.bincount(piece_u[hit], minlength=P)
    first_cnt = per_meas[offs[:-1]]
    last_cnt = per_meas[offs[1:] - 1]
    # sum over neighbouring bar pairs of |A_m| + |A_m+1| - 2 |A_m & A_m+1|
    ham = 2 * cells - first_cnt - last_cnt - 2 * shared
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_meas >= 2, 1.0 - ham / (R * np.maximum(n_meas - 1, 1)), np.nan)
