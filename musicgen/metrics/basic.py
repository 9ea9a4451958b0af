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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from musicgen.piece import Piece

if TYPE_CHECKING:
    from musicgen.io.midi import AssembledMidi

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


def _concat_notes(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate note arrays of :data:`~musicgen.piece.NOTE_DTYPE` (as raw bytes when possible:
    numpy's concatenation of structured arrays promotes the dtype pair by pair, in Python)."""
    dt = arrays[0].dtype
    if all(a.dtype == dt and a.ndim == 1 and a.flags.c_contiguous for a in arrays):
        return np.frombuffer(bytearray().join(arrays), dtype=dt)
    return np.concatenate(arrays)


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

    The arrays are not to be modified once built: intermediate results that several metrics share
    (the pitched notes, piece lengths, ...) are computed once per batch and kept.
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
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_pieces(cls, pieces: Sequence[Piece]) -> NoteBatch:
        """Concatenate the notes of ``pieces`` (any number, including pieces without notes)."""
        n = len(pieces)
        if n == 0:
            z = np.zeros(0, dtype=np.int64)
            return cls(0, z, z, z, z, np.zeros(0, dtype=bool), z, z, z, z, np.zeros(0))
        arrays = [p.notes for p in pieces]
        lens = np.array([a.size for a in arrays], dtype=np.int64)
        resolution = np.array([p.resolution for p in pieces], dtype=np.int64)
        ts = np.concatenate([p.time_signatures[:1] for p in pieces]).astype(np.int64)
        tempos = [p.tempos for p in pieces]
        tlens = np.array([len(t) for t in tempos], dtype=np.int64)
        notes = _concat_notes(arrays)
        piece = np.repeat(np.arange(n, dtype=np.int64), lens)
        onset = notes["onset_tick"].astype(np.int64)
        end = onset + notes["duration_tick"]
        drum = np.zeros(onset.size, dtype=bool)
        with_drums = [i for i, p in enumerate(pieces) for t in p.tracks if t.is_drum]
        if with_drums:
            starts = np.concatenate([[0], np.cumsum(lens)])
            for i in sorted(set(with_drums)):
                p = pieces[i]
                drum_tracks = [k for k, t in enumerate(p.tracks) if t.is_drum]
                drum[starts[i] : starts[i + 1]] = np.isin(p.notes["track"], drum_tracks)
        tempo = np.concatenate(tempos).astype(float).reshape(-1, 2)
        return cls(
            n_pieces=n,
            piece=piece,
            onset=onset,
            end=end,
            pitch=notes["pitch"].astype(np.int64),
            drum=drum,
            resolution=resolution,
            bar_ticks=_bar_ticks(ts, resolution),
            tempo_piece=np.repeat(np.arange(n, dtype=np.int64), tlens),
            tempo_tick=tempo[:, 0].astype(np.int64),
            tempo_qpm=tempo[:, 1].astype(float),
        )

    @classmethod
    def from_midi(cls, midi: AssembledMidi) -> NoteBatch:
        """The notes of MIDI files assembled by :func:`~musicgen.io.midi.assemble_parsed`, one piece per
        file, without making a :class:`Piece` of each: the batch that :meth:`from_pieces` makes of
        their :func:`~musicgen.io.midi.pieces_from_parsed` pieces."""
        n = len(midi.parsed)
        if n == 0:
            return cls.from_pieces([])
        resolution = np.array([p.resolution for p in midi.parsed], dtype=np.int64)
        tempo_rows = np.diff(np.array(midi.tempo_bounds, dtype=np.int64))
        return cls(
            n_pieces=n,
            piece=np.repeat(np.arange(n, dtype=np.int64), midi.n_notes),
            onset=midi.onset,
            end=midi.onset + midi.duration,
            pitch=midi.pitch,
            drum=midi.drum,
            resolution=resolution,
            bar_ticks=_bar_ticks(midi.meter[midi.meter_bounds[:-1]], resolution),
            tempo_piece=np.repeat(np.arange(n, dtype=np.int64), tempo_rows),
            tempo_tick=midi.tempo[:, 0].astype(np.int64),
            tempo_qpm=midi.tempo[:, 1].astype(float),
        )

    def pitched(self) -> np.ndarray:
        """Boolean mask of the notes that carry a pitch (not on a drum track); do not modify it."""
        return self._cached("pitched", lambda: ~self.drum)

    def _cached(self, key: str, make: Callable):
        """``make()``, computed once per batch and kept under ``key``."""
        memo = self._memo
        if key not in memo:
            memo[key] = make()
        return memo[key]


def _bar_ticks(first_meter: np.ndarray, resolution: np.ndarray) -> np.ndarray:
    """Ticks per bar of each piece's first meter (rows tick, numerator, denominator):
    round(num * 4 * resolution / den) (half to even, as round()), at least 1."""
    return np.maximum(1, np.rint(first_meter[:, 1] * 4 * resolution / first_meter[:, 2]).astype(np.int64))


def _pitched_notes(b: NoteBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(piece, onset, end, pitch) of the pitched notes (the batch's own arrays when it has no drums)."""

    def make():
        if not b.drum.any():
            return b.piece, b.onset, b.end, b.pitch
        m = b.pitched()
        return b.piece[m], b.onset[m], b.end[m], b.pitch[m]

    return b._cached("pitched_notes", make)


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


def _union_length(
    key: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    n_keys: int,
    order: np.ndarray | None = None,
    presorted: bool = False,
) -> np.ndarray:
    """Total length of the union of the half-open intervals [start, end) of each key (0..n_keys-1).

    Vectorised: intervals are taken in an order where keys increase and, within a key, starts do not
    decrease (``order``, computed when not given; ``presorted``: the arrays already are in that
    order); a running maximum of the ends (keys offset so that they never mix) tells how much of
    each interval is new.
    """
    if key.size == 0:
        return np.zeros(n_keys, dtype=np.int64)
    if presorted:
        k, s = key, start
        e = np.maximum(end, s)
    else:
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


def _order_of(p: np.ndarray, o: np.ndarray) -> np.ndarray | None:
    """The (p, o) lexicographic order of rows whose p is non-decreasing; None when already in that
    order (readers sort each piece's notes by onset)."""
    if p.size < 2 or not ((p[1:] == p[:-1]) & (o[1:] < o[:-1])).any():
        return None
    return np.lexsort((o, p))


def _all_onset_order(b: NoteBatch) -> np.ndarray | None:
    """The (piece, onset) order of all notes (None: already in order), once per batch."""
    return b._cached("onset_order", lambda: _order_of(b.piece, b.onset))


def _pitched_onset_order(b: NoteBatch) -> np.ndarray | None:
    """The (piece, onset) order of the pitched notes (None: already in order), once per batch."""
    p, o, _, _ = _pitched_notes(b)
    return b._cached("pitched_onset_order", lambda: _order_of(p, o))


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
    starts = np.flatnonzero(_changes(idx))
    out[idx[starts]] = np.maximum(out[idx[starts]], np.maximum.reduceat(values, starts))


def _changes(x: np.ndarray) -> np.ndarray:
    """Boolean (n,): true at 0 and wherever ``x`` differs from the element before."""
    out = np.empty(x.size, dtype=bool)
    out[:1] = True
    np.not_equal(x[1:], x[:-1], out=out[1:])
    return out


# ---------------------------------------------------------------------------------------- pitch


def _n_pitched(b: NoteBatch) -> np.ndarray:
    """Pitched notes per piece (int64), once per batch."""
    return b._cached("n_pitched", lambda: np.bincount(_pitched_notes(b)[0], minlength=b.n_pieces))


@_per_piece
def n_pitched_notes(b: NoteBatch) -> np.ndarray:
    """Number of notes on non-drum tracks (a count, as float)."""
    return _n_pitched(b).astype(float)


def _pc_counts(b: NoteBatch) -> np.ndarray:
    """Pitch-class counts (P, 12) int64, once per batch."""

    def make():
        p, _, _, pitch = _pitched_notes(b)
        return np.bincount(p * 12 + pitch % 12, minlength=12 * b.n_pieces).reshape(b.n_pieces, 12)

    return b._cached("pc_counts", make)


def pitch_class_histogram(b: NoteBatch) -> np.ndarray:
    """Note counts per pitch class (0 = C), drums ignored: float array (P, 12)."""
    return _pc_counts(b).astype(float)


def _entropy_rows(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits of each row's normalised histogram; nan for all-zero rows."""
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / total
        return -np.nansum(p * np.log2(p), axis=1) + np.where(total[:, 0] > 0, 0.0, np.nan)


#: Largest (max window notes + 1)^2 for which :func:`_entropy_counts` uses a table of p log2 p.
_PLOGP_TABLE_MAX = 1 << 16


def _entropy_counts(counts: np.ndarray, total: np.ndarray | None = None) -> np.ndarray:
    """:func:`_entropy_rows` of an integer count matrix, bit for bit, with ``p log2 p`` looked up.

    The table holds ``(c / T) * log2(c / T)`` for every count c and row total T up to the largest
    total, computed with the same float operations as :func:`_entropy_rows` (0 where c = 0, which
    ``nansum`` makes of 0 * log2 0); rows are then summed exactly as there. ``total``: the row sums,
    when the caller has them.
    """
    if total is None:
        total = counts.sum(axis=1)
    top = int(total.max()) if total.size else 0
    if (top + 1) ** 2 > _PLOGP_TABLE_MAX:
        return _entropy_rows(counts.astype(float))
    c = np.arange(top + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = c[None, :] / c[:, None]
        table = p * np.log2(p)
    table[:, 0] = 0.0
    table[0, :] = 0.0
    terms = table.ravel()[total[:, None] * (top + 1) + counts]
    return -terms.sum(axis=1) + np.where(total > 0, 0.0, np.nan)


@_per_piece
def pitch_class_entropy(b: NoteBatch) -> np.ndarray:
    """Pitch Class Entropy in bits: ``-sum_i P(i) log2 P(i)`` over the 12 pitch classes.

    ``P(i)`` is the fraction of (non-drum) notes whose pitch class is ``i``; every note counts once,
    whatever its duration (MusPy's ``pitch_class_entropy``). Range 0 (one pitch class) to
    log2(12) ≈ 3.585. nan when the piece has no pitched note.
    """
    return _entropy_rows(pitch_class_histogram(b))


def pitch_class_entropy_grids(cells: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """Pitch Class Entropy in bits of each piece of bar grids (N, ..., pitches) of 0/1/2 cells, with the
    same definition as :func:`pitch_class_entropy` (every note start counts once; a hold after silence
    starts a note); nan for a piece without notes. ``lowest_pitch``: MIDI pitch of pitch index 0."""
    from musicgen.analysis import pitch_class_histograms  # (not needed by the note metrics: imported here)

    return _entropy_rows(pitch_class_histograms(cells, lowest_pitch, "onset"))


def windowed_pce(b: NoteBatch, windows: Sequence[int] = (1, 4)) -> dict[int, np.ndarray]:
    """:func:`pitch_class_entropy_windowed` for several window lengths at once (one bar histogram)."""
    if any(w < 1 for w in windows):
        raise ValueError("window_bars must be at least 1")
    P = b.n_pieces
    pidx, onset, _, pitch = _pitched_notes(b)
    bar = onset // b.bar_ticks[pidx]  # bar (first meter, from time 0) of each onset
    n_bars = np.zeros(P, dtype=np.int64)
    if bar.size:
        _max_sorted(n_bars, pidx, bar + 1)
    first = np.concatenate([[0], np.cumsum(n_bars)])  # global bar offset of each piece
    total_bars = int(first[-1])
    gbar = first[pidx] + bar
    counts = np.bincount(gbar * 12 + pitch % 12, minlength=12 * total_bars).reshape(total_bars, 12)
    bar_total = np.bincount(gbar, minlength=total_bars)  # notes per bar
    csum = tsum = None
    out = {}
    for window_bars in windows:
        # windows: for piece p, start bars 0..n_bars-w (w = min(window, n_bars))
        w = np.minimum(window_bars, n_bars)
        n_win = np.where(n_bars > 0, n_bars - w + 1, 0)
        wp = np.repeat(np.arange(P), n_win)
        if wp.size == 0:
            out[window_bars] = np.full(P, np.nan)
            continue
        if window_bars == 1:  # the windows are the bars, in order
            ent = _entropy_counts(counts, bar_total)
            ok = bar_total > 0
        else:
            if csum is None:
                csum = np.zeros((total_bars + 1, 12), dtype=np.int64)
                np.cumsum(counts, axis=0, out=csum[1:])
                tsum = np.zeros(total_bars + 1, dtype=np.int64)
                np.cumsum(bar_total, out=tsum[1:])
            wstart = np.arange(wp.size) - np.repeat(np.cumsum(n_win) - n_win, n_win)
            lo = first[wp] + wstart
            hi = lo + w[wp]
            wtotal = tsum[hi] - tsum[lo]
            ent = _entropy_counts(csum[hi] - csum[lo], wtotal)
            ok = wtotal > 0
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
    p, _, _, pitch = _pitched_notes(b)
    used = np.bincount(p * 128 + pitch, minlength=128 * b.n_pieces).reshape(b.n_pieces, 128) > 0
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
    p, s, e, pitch = _pitched_notes(b)
    P = b.n_pieces
    by_onset = _pitched_onset_order(b)
    any_on = _union_length(p, s, e, P, order=by_onset, presorted=by_onset is None)
    # pieces whose notes never overlap (melodies) need no per-pitch pass: there both unions are equal
    total = np.bincount(p, weights=np.maximum(e - s, 0), minlength=P)
    overlapping = total > any_on
    per_pitch = any_on.astype(float)
    if overlapping.any():
        if by_onset is None:
            by_onset = np.arange(p.size)
        sel = by_onset[overlapping[p[by_onset]]]
        # (pitch, piece, onset) order: a stable radix sort of the onset-ordered notes by pitch
        by_pitch = sel[np.argsort(pitch[sel].astype(np.int16), kind="stable")]
        per_pitch_all = _union_length(pitch * P + p, s, e, 128 * P, order=by_pitch).reshape(128, P).sum(axis=0)
        per_pitch[overlapping] = per_pitch_all[overlapping]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(any_on > 0, per_pitch / np.maximum(any_on, 1), np.nan)


def _length_ticks(b: NoteBatch) -> np.ndarray:
    """End of the last note (any track) of each piece, in ticks (0 without notes); do not modify it."""
    return b._cached("length", lambda: _piece_max(b, b.end, fill=np.int64(0)))


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
    r = _per_note(b, res)
    order = _all_onset_order(b)  # beats follow onsets: (piece, onset) order is (piece, start beat) order
    covered = _union_length(b.piece, b.onset // r, b.end // r + 1, b.n_pieces, order=order, presorted=order is None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(length >= 1, 1.0 - covered / n_beats, np.nan)


def _span_ticks(b: NoteBatch) -> tuple[np.ndarray, np.ndarray]:
    """(first onset, last end) of the pitched notes of each piece, in ticks (0, 0 without notes)."""

    def make():
        m = None if b.drum.size and not b.drum.any() else b.pitched()
        big = np.iinfo(np.int64).max
        first = -_piece_max(b, -b.onset, mask=m, fill=np.int64(-big))
        first = np.where(first == big, 0, first)
        last = _piece_max(b, b.end, mask=m, fill=np.int64(0))
        return first, last

    return b._cached("span", make)


def _per_note(b: NoteBatch, values: np.ndarray) -> np.ndarray:
    """``values[b.piece]`` (a per-piece value for every note); a scalar when all pieces share it."""
    if values.size and (values == values[0]).all():
        return values[0]
    return values[b.piece]


@_per_piece
def note_density(b: NoteBatch) -> np.ndarray:
    """Pitched notes per beat (quarter note), from the first onset to the end of the last note.

    Tempo-free (see :func:`notes_per_second` for the rate at the written tempo). nan without pitched
    notes or when they span no time.
    """
    first, last = _span_ticks(b)
    n = _n_pitched(b).astype(float)
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
    n = _n_pitched(b).astype(float)
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
    Rn = _per_note(b, R)
    meas = b.onset // Rn
    codes = (offs[b.piece] + meas) * width + (b.onset - meas * Rn)
    order = _all_onset_order(b)
    piece_u = b.piece
    if order is not None:
        codes, piece_u = codes[order], piece_u[order]
    if codes.size > 1 and (codes[1:] < codes[:-1]).any():
        codes = np.sort(codes)
        piece_u = None
    if codes.size:
        keep = _changes(codes)
        codes = codes[keep]
        if piece_u is not None:
            piece_u = piece_u[keep]
    gm = codes // width
    if piece_u is None:
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
