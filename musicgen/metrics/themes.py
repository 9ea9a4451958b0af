"""Theme finder and ``theme_count`` — our definition of the paper's "number of themes".

The D2M-GAN-SCA paper reports a "number of themes" per piece for 4, 8, 16 and 32 bars without
defining it. No standard metric exists; the nearest work is repeated-pattern discovery (MIREX
"Discovery of Repeated Themes and Sections", Meredith's SIA/SIATEC/COSIATEC). This module defines it
as follows (DESIGN.md §5), and every threshold is a field of :class:`ThemeParams`.

Definition
----------
A **theme** is a melodic pattern of one or more whole bars that recurs elsewhere in the piece — exactly,
transposed, or with small rhythmic variation (a split or merged note, timing jitter). Themes that are
occurrences of each other count once. When a piece has at least one theme, every *contrasting
section* — a stretch of at least ``min_section_bars`` bars that belongs to no theme — counts as one more
theme: a piece in AABA form has two themes (A, which recurs, and the contrasting B), AAA'A (A' = A
transposed) has one, and a piece that never repeats itself has none.

Algorithm
---------
1. **Melody.** The skyline (drums ignored): at every onset the highest note starting there, unless a
   higher note that started earlier still sounds (on the step grid). With ``melody="all"`` every note
   is kept (for polyphonic material).
2. **Bars.** Bars of the first time signature from time 0. Onsets are rounded to a grid of
   ``steps_per_quarter`` (12: sixteenths and triplets, like the bar grid); a note belongs to the bar
   of its onset, at its step in the bar; a note at most ``delta_steps`` before a barline belongs to
   the next bar (an early downbeat).
3. **Bar similarity.** For bars *i* and *j* and a transposition *t* (semitones, ``|t| <=
   max_transposition``, 12), a note of *i* at step *r* and pitch *p* matches a note of *j* at a step
   within ``delta_steps`` (1 step = 1/12 quarter note) of *r* and pitch *p + t*. The match count is
   the number of such note pairs, capped at the smaller bar's note count; it equals the best
   one-to-one match unless a bar holds two same-pitch notes within ``2 * delta_steps`` steps (a
   sixteenth is 3 steps). ``sim(i, j, t) = matches / max(notes in i, notes in j)``; bars are *similar
   under t* when ``sim >= theta`` (0.75, the MIREX occurrence threshold). Bars without notes are never
   similar. All pairs of bars of all pieces of a batch are counted at once, as one sparse matrix
   product (scipy): notes are features (piece, step, pitch), one side widened by ``delta_steps``,
   the other stacked in ``max_transposition + 1`` shifted copies (both triangles give +t and -t).
4. **Repeated runs.** A run of ``L`` consecutive bars starting at *s* recurs at *s + d* when bars
   *s + k* and *s + d + k* are similar under one common *t* for all ``k < L`` (one transposition for
   the whole run), and ``d >= L`` (no overlap with the prototype).
5. **Greedy selection (COSIATEC-like).** Repeatedly, among all prototypes (*s*, *L*) with their
   non-overlapping recurrences that lie in bars not yet covered, pick the one with the largest
   *compression gain* = covered notes − prototype notes − occurrences + 1 = Σ over recurrences of
   (notes − 1) (ties: longer, then earlier); require at least ``min_notes`` notes in the prototype
   and a gain of at least ``min_gain``; mark its bars covered. Stop when nothing qualifies. The
   optimal *L* for a prototype start is always one of the run lengths of its recurrences, so only
   those are tried. Overlapping recurrences of one pattern are thinned left to right against the
   previous candidate (which can under-count a pattern that repeats back to back three times or more;
   the leftover is then found again and merged in step 6).
6. **Merge.** A picked pattern whose prototype is itself a recurrence of an earlier pick (same length,
   similar run) merges into it.
7. **Count.** ``theme_count`` = merged picks + contrasting sections (maximal uncovered runs of at least
   ``min_section_bars`` bars holding at least ``min_notes`` notes), the latter only when a theme was
   found.

Calibration (``benchmarks/bench_themes.py`` prints it, ``tests/test_themes.py`` checks it): with
``theta = 0.75``, ``delta_steps = 1``, ``min_notes = 6`` and ``min_gain = 8``, random melodies and
pitch-shuffled melodies (whose rhythm still repeats exactly) give 0 themes in more than 99 % of
cases, while exact, transposed and lightly varied repeats (a split or merged note, onsets moved by
up to 1/24 quarter note) are found. ``min_gain = 8`` means a single repeated bar counts only with at
least 9 notes or 3 occurrences: shorter one-bar echoes are motifs, not themes; ``min_gain = 6``
already lets 1-3 % of shuffled eighth-note melodies through. Windows: :func:`theme_counts` reports the count for the first 4, 8, 16 and
32 bars, as the paper's Figure 8 does (``None`` when the piece is shorter than the window).

Export: :func:`mirex_patterns` / :func:`themes_to_mirex` give the repeated themes in the MIREX format
(``patternN`` / ``occurrenceM`` / ``onset, pitch`` lines) that ``mir_eval.io.load_patterns`` reads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from musicgen.metrics.basic import NoteBatch, _changes, _pitched_notes
from musicgen.piece import Piece

__all__ = [
    "ThemeParams",
    "Theme",
    "ThemeAnalysis",
    "WINDOWS",
    "find_themes",
    "theme_count",
    "theme_counts",
    "batch_theme_counts",
    "mirex_patterns",
    "themes_to_mirex",
    "write_mirex",
    "random_diatonic_phrase",
]

#: The bar windows the paper's Figure 8 reports.
WINDOWS = (4, 8, 16, 32)


@dataclass(frozen=True)
class ThemeParams:
    """Thresholds of the theme finder (see the module docstring for their role).

    Attributes:
        theta: bar similarity threshold (fraction of the larger bar's notes matched), 0..1.
        steps_per_quarter: onsets are rounded to this grid (12: sixteenths and triplets, as the bar grid).
        delta_steps: onset tolerance in grid steps (1 step = 1/12 quarter note at 12 per quarter).
        max_transposition: largest transposition tried, in semitones (either way).
        min_notes: least melody notes in a theme's prototype (and in a contrasting section).
        min_gain: least compression gain (notes) for a pattern to count.
        min_section_bars: least length in bars of a contrasting section.
        melody: "skyline" (highest note at each onset) or "all" (every pitched note).
    """

    theta: float = 0.75
    steps_per_quarter: int = 12
    delta_steps: int = 1
    max_transposition: int = 12
    min_notes: int = 6
    min_gain: int = 8
    min_section_bars: int = 4
    melody: str = "skyline"

    def __post_init__(self):
        if not 0 < self.theta <= 1:
            raise ValueError("theta must lie in (0, 1]")
        if self.delta_steps < 0 or self.steps_per_quarter < 1:
            raise ValueError("delta_steps must be >= 0 and steps_per_quarter >= 1")
        if self.melody not in ("skyline", "all"):
            raise ValueError('melody must be "skyline" or "all"')


@dataclass
class Theme:
    """One theme: ``n_bars`` bars starting at bar ``start_bar`` and where else they recur.

    Attributes:
        start_bar: first bar of the prototype (0-based, bars of the first meter from time 0).
        n_bars: length in bars.
        occurrences: (start bar, transposition in semitones) of every occurrence, the prototype first
            with transposition 0; a contrasting section has only its own.
        repeated: true for a recurring pattern, false for a contrasting section.
    """

    start_bar: int
    n_bars: int
    occurrences: list[tuple[int, int]] = field(default_factory=list)
    repeated: bool = True


@dataclass
class ThemeAnalysis:
    """The themes found in (a window of) a piece.

    Attributes:
        themes: the themes, repeated ones first (in the order picked), then contrasting sections.
        n_bars: bars analysed.
        bar_qn: bar length in quarter notes.
        melody_onset: onsets (quarter notes) of the melody notes analysed.
        melody_pitch: their MIDI pitches.
        melody_bar: the bar each melody note belongs to.
    """

    themes: list[Theme]
    n_bars: int
    bar_qn: float
    melody_onset: np.ndarray
    melody_pitch: np.ndarray
    melody_bar: np.ndarray

    @property
    def count(self) -> int:
        """The theme count: repeated themes plus contrasting sections."""
        return len(self.themes)

    @property
    def n_repeated(self) -> int:
        """Number of recurring themes alone (DESIGN.md §5's strict count)."""
        return sum(t.repeated for t in self.themes)


# ---------------------------------------------------------------------------------------- melody and bars


@dataclass
class _Melody:
    """Melody notes of a batch with their bars (first meter) and grid slots within the bar."""

    piece: np.ndarray  # (M,) piece index
    onset: np.ndarray  # ticks
    pitch: np.ndarray
    bar: np.ndarray  # local bar index
    slot: np.ndarray  # grid step within the bar, shifted by +delta_steps (so >= 0)
    n_bars: np.ndarray  # (P,) bars up to the bar of the last melody onset
    bar_off: np.ndarray  # (P+1,) offset of each piece's bars in the global bar numbering
    bar_notes: np.ndarray  # (total bars,) melody notes per global bar
    starts: np.ndarray  # index of the first melody note of each piece that has one


def _skyline(b: NoteBatch, piece, onset, pitch, end, spq: int) -> np.ndarray:
    """Indices of the skyline notes of (piece, onset, pitch)-sorted notes.

    A note is in the skyline when it is the highest note starting at its onset and no higher note that
    started earlier still sounds there (compared on the grid of ``spq`` steps per quarter, so a
    legato overlap shorter than half a step does not hide the next note).
    """
    nxt = np.empty(piece.size, dtype=bool)
    nxt[-1:] = True
    np.not_equal(piece[1:], piece[:-1], out=nxt[:-1])
    nxt[:-1] |= onset[1:] != onset[:-1]
    last = np.flatnonzero(nxt)
    piece, pitch = piece[last], pitch[last]
    res = b.resolution[piece]
    s_on = np.rint(onset[last] * spq / res).astype(np.int64)
    # the longest of the notes starting at that onset decides how long the onset "sounds"
    ends = np.maximum.reduceat(end, np.concatenate(([0], last[:-1] + 1))) if last.size else end[:0]
    s_end = np.rint(ends * spq / res).astype(np.int64)
    big = int(max(s_end.max(initial=0), s_on.max(initial=0))) + 2
    off = piece * big
    reach = np.maximum.accumulate(s_end + off)
    before = np.empty_like(reach)
    before[:1] = np.iinfo(np.int64).min
    before[1:] = reach[:-1]
    inside = np.flatnonzero(s_on + off < before)  # onsets while an earlier note still sounds
    if inside.size == 0:
        return last
    # highest pitch sounding (after its own onset step) at each grid step, for the pieces concerned
    cand_pieces = np.unique(piece[inside])
    sel = np.flatnonzero(np.isin(piece, cand_pieces))
    n_cells = np.maximum(0, s_end[sel] - s_on[sel] - 1)
    src = np.repeat(sel, n_cells)
    step = s_on[src] + 1 + (np.arange(src.size) - np.repeat(np.cumsum(n_cells) - n_cells, n_cells))
    code = off[src] + step
    order = np.lexsort((pitch[src], code))
    code, top = code[order], pitch[src][order]
    keep = np.append(code[1:] != code[:-1], True)
    code, top = code[keep], top[keep]
    q = off[inside] + s_on[inside]
    pos = np.clip(np.searchsorted(code, q), 0, max(code.size - 1, 0))
    hidden = np.zeros(last.size, dtype=bool)
    if code.size:
        hidden[inside] = (code[pos] == q) & (top[pos] > pitch[inside])
    return last[~hidden]


def _per_note_of(piece: np.ndarray, values: np.ndarray):
    """``values[piece]``, or the one value when all pieces share it (a scalar)."""
    if values.size and (values == values[0]).all():
        return values[0]
    return values[piece]


def _melody(b: NoteBatch, prm: ThemeParams) -> _Melody:
    """Skyline (or all) pitched notes, sorted by piece and onset, placed on the bar grid."""
    piece, onset, end, pitch = _pitched_notes(b)
    if onset.size:
        # readers sort each piece by (onset, track, pitch): one track is already in (onset, pitch) order
        same = (piece[1:] == piece[:-1]) & (onset[1:] == onset[:-1])
        in_order = not (((piece[1:] == piece[:-1]) & (onset[1:] < onset[:-1])).any() or (same & (pitch[1:] < pitch[:-1])).any())
        if not in_order:
            order = np.lexsort((pitch, onset, piece))
            piece, onset, pitch, end = piece[order], onset[order], pitch[order], end[order]
        if prm.melody == "skyline":
            top = _skyline(b, piece, onset, pitch, end, prm.steps_per_quarter)
            piece, onset, pitch = piece[top], onset[top], pitch[top]
    spq, tol = prm.steps_per_quarter, prm.delta_steps
    res = _per_note_of(piece, b.resolution)
    step = np.rint(onset * spq / res)
    spb = _per_note_of(piece, b.bar_ticks * spq / b.resolution)  # steps per bar (float for odd meters)
    # a note up to ``delta_steps`` before a barline (an early downbeat) belongs to the next bar
    bar = np.floor((step + tol) / spb + 1e-9).astype(np.int64)
    slot = np.rint(step - bar * spb).astype(np.int64) + tol
    n_bars = np.zeros(b.n_pieces, dtype=np.int64)
    starts = np.flatnonzero(_changes(piece))
    if bar.size:
        n_bars[piece[starts]] = np.maximum.reduceat(bar, starts) + 1
    bar_off = np.zeros(b.n_pieces + 1, dtype=np.int64)
    np.cumsum(n_bars, out=bar_off[1:])
    bar_notes = np.bincount(bar_off[piece] + bar, minlength=int(bar_off[-1]))
    return _Melody(piece, onset, pitch, bar, slot, n_bars, bar_off, bar_notes, starts)


def _similar_bars(mel: _Melody, prm: ThemeParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All (piece, i, d, t): bars i and i + d (d > 0) of a piece are similar under transposition t.

    Counting is one sparse matrix product (compiled, scipy's CSR kernels): notes become features
    (piece, slot, pitch); the earlier-side notes are widened by ``delta_steps`` slots either way; the
    later side holds every bar once per transposition 0..max_transposition, so the product gives, for
    every ordered pair of bars, the number of note pairs that match (both triangles give +t and -t).
    """
    z = np.zeros(0, dtype=np.int64)
    M = mel.piece.size
    if M == 0:
        return z, z, z, z
    tol, tmax = prm.delta_steps, prm.max_transposition
    n_t = tmax + 1
    w = 2 * tol + 1
    nb = int(mel.bar_off[-1])
    # features (piece, slot, pitch) in one block per piece, sized to that piece's slots and pitches
    # (padded by max_transposition pitches, so a transposed note never leaves its piece's block)
    starts = mel.starts
    lens = np.diff(np.append(starts, M))
    pmin = np.minimum.reduceat(mel.pitch, starts)
    span = np.maximum.reduceat(mel.pitch, starts) - pmin + n_t
    size = (np.maximum.reduceat(mel.slot, starts) + w) * span
    base = np.cumsum(size) - size
    F = int(base[-1] + size[-1])
    PR = np.repeat(span, lens)
    feat = np.repeat(base - pmin, lens) + (mel.slot + tol) * PR + mel.pitch
    counts = mel.bar_notes
    n_row = n_t * nb
    # an entry (t, r) x q exists only for bars r and q of one piece
    bound = n_t * int(np.dot(mel.n_bars, mel.n_bars))
    it = np.int32 if max(F, M * n_t, M * w, n_row, bound) < 2**31 - 1 else np.int64  # index type
    feat_i = feat.astype(it)
    # rows (t, bar) of the later side: the bar's notes moved up t semitones, t = 0..tmax, in one matrix
    # (notes are in bar order)
    a_p = _scratch("a_p", n_row + 1, it)
    a_p[0] = 0
    np.cumsum(np.tile(counts, n_t), out=a_p[1:], dtype=it)
    a_j = _scratch("a_j", n_t * M, it)
    np.add(feat_i[None, :], np.arange(n_t, dtype=it)[:, None], out=a_j.reshape(n_t, M))
    # the earlier side, widened by +-tol slots, each entry scaled by 1 / (notes in its bar): a product
    # entry is then matches / n_q, and sim >= theta needs it >= theta -- a cheap first filter
    b_j = np.empty((M, w), dtype=it)
    PR_i = PR.astype(it)
    for k in range(w):  # (one column per slot offset: numpy broadcasts a short last axis slowly)
        np.add(feat_i, (k - tol) * PR_i, out=b_j[:, k])
    b_j = b_j.ravel()
    b_x = np.repeat((1.0 / np.maximum(counts, 1)).astype(np.float32), counts * w)
    b_p = np.zeros(nb + 1, dtype=it)
    np.cumsum(counts * w, out=b_p[1:], dtype=it)
    c_p, c_j, c_x = _product_by_transpose(n_row, nb, F, a_p, a_j, _ones32(a_j.size), b_p, b_j, b_x, bound)
    # c[t * nb + r, q]: share of bar q's notes met by bar r's notes moved up t semitones
    cand = np.flatnonzero(c_x >= prm.theta - 1e-6)
    row = np.searchsorted(c_p, cand, side="right") - 1
    t_of, r = np.divmod(row, nb)
    q = c_j[cand].astype(np.int64)
    nr, nq = counts[r], counts[q]
    matches = np.rint(c_x[cand] * nq)
    ok = np.minimum(matches, np.minimum(nr, nq)) >= prm.theta * np.maximum(nr, nq) - 1e-9
    ok &= np.where(t_of == 0, r < q, r != q)
    r, q, t_of = r[ok], q[ok], t_of[ok]
    fwd = r < q
    gi, gj = np.where(fwd, r, q), np.where(fwd, q, r)
    tt = np.where(fwd, t_of, -t_of)
    piece = np.repeat(np.arange(mel.n_bars.size), mel.n_bars)[gi]
    return piece, gi - mel.bar_off[piece], gj - gi, tt.astype(np.int64)


_local = threading.local()

#: Largest product (entries) computed with outputs sized by the cheap bound (see _product_by_transpose).
_DIRECT_MAX = 1 << 23


def _kernels():
    """scipy's compiled CSR kernels (csr_matmat, csr_tocsc), or None where this scipy lacks them."""
    k = getattr(_local, "kernels", False)
    if k is False:
        try:
            from scipy.sparse._sparsetools import csr_matmat, csr_tocsc

            k = (csr_matmat, csr_tocsc)
        except ImportError:  # pragma: no cover - a scipy that moved them
            k = None
        _local.kernels = k
    return k


#: Largest scratch buffer (bytes) kept between calls (see _scratch).
_SCRATCH_KEEP = 1 << 24


def _scratch(name: str, n: int, dtype) -> np.ndarray:
    """An uninitialised array of ``n`` elements: a view of a per-thread buffer kept between calls.

    Reusing the memory spares the page faults of fresh multi-megabyte arrays in the similarity
    product. The view is only valid until the next call with the same ``name`` in this thread, so
    callers keep nothing that points into it.
    """
    bufs = getattr(_local, "scratch", None)
    if bufs is None:
        bufs = _local.scratch = {}
    buf = bufs.get(name)
    dtype = np.dtype(dtype)
    if buf is None or buf.dtype != dtype or buf.size < n:
        buf = np.empty(max(n, 1 << 12), dtype=dtype)
        if buf.nbytes <= _SCRATCH_KEEP:
            bufs[name] = buf
    return buf[:n]


def _ones32(n: int) -> np.ndarray:
    """A read-only float32 array of ``n`` ones (a per-thread cached buffer, grown on demand)."""
    buf = getattr(_local, "ones", None)
    if buf is None or buf.size < n:
        buf = np.ones(max(n, 1 << 16), dtype=np.float32)
        buf.flags.writeable = False
        _local.ones = buf
    return buf[:n]


def _product_by_transpose(n_row, n_col, n_inner, a_p, a_j, a_x, b_p, b_j, b_x, bound):
    """CSR product A @ B.T for A (n_row, n_inner) and B (n_col, n_inner), as (indptr, indices, data).

    The result may live in scratch memory (see :func:`_scratch`): use it before the next call.

    Uses scipy's compiled CSR kernels. ``bound`` is an upper bound of the product's entries: when it
    is moderate, the kernels are called directly with outputs of that size, which skips scipy's
    separate counting pass (about 40 % of the product's time); otherwise, or when those kernels
    are not available, the public ``@`` does it.
    """
    kernels = _kernels()
    if kernels is not None and bound <= _DIRECT_MAX:
        _csr_matmat, _csr_tocsc = kernels
        try:
            it = a_p.dtype  # index type (int32, or int64 for huge batches)
            bt_p = _scratch("bt_p", n_inner + 1, it)
            bt_j = _scratch("bt_j", b_j.size, it)
            bt_x = _scratch("bt_x", b_j.size, b_x.dtype)
            _csr_tocsc(n_col, n_inner, b_p, b_j, b_x, bt_p, bt_j, bt_x)
            c_p = _scratch("c_p", n_row + 1, it)
            c_j = _scratch("c_j", bound, it)
            c_x = _scratch("c_x", bound, np.float32)
            _csr_matmat(n_row, n_col, a_p, a_j, a_x, bt_p, bt_j, bt_x, c_p, c_j, c_x)
            nnz = int(c_p[-1])
            return c_p, c_j[:nnz], c_x[:nnz]
        except (TypeError, ValueError):  # pragma: no cover - a scipy without these kernels' signatures
            pass
    import scipy.sparse as sp

    a = sp.csr_matrix((a_x, a_j, a_p), shape=(n_row, n_inner))
    bt = sp.csr_matrix((b_x, b_j, b_p), shape=(n_col, n_inner)).T.tocsr()
    c = a @ bt
    return c.indptr, c.indices, c.data


# ---------------------------------------------------------------------------------------- selection


@dataclass
class _Picks:
    view: np.ndarray
    start: np.ndarray
    length: np.ndarray
    occ_pick: np.ndarray  # index into picks
    occ_d: np.ndarray  # offset in bars from the prototype (0 for the prototype)
    occ_t: np.ndarray
    merged_into: np.ndarray  # -1 or index of the pick it merges into
    merged_t: np.ndarray  # transposition of a merged pick's prototype relative to that pick
    section_view: np.ndarray  # contrasting sections
    section_start: np.ndarray
    section_length: np.ndarray


_KEY_BITS = 62


def _pack(fields: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray | None, list[int]]:
    """One int64 key per row that sorts like the tuple of ``fields`` (most significant first).

    Each field is (non-negative int64 values, an upper bound of them); a field gets the bits of
    ``bound + 1``, so adding 1 to the last field never carries into the one before. Returns
    (key, bit widths); the key is None when the fields need more than 62 bits.
    """
    widths = [int(hi + 1).bit_length() for _, hi in fields]
    if sum(widths) > _KEY_BITS:
        return None, widths
    key = fields[0][0]
    for (x, _), wd in zip(fields[1:], widths[1:]):
        key = (key << wd) | x
    return key, widths


def _ramp(lens: np.ndarray) -> np.ndarray:
    """0, 1, .., lens[0]-1, 0, 1, .., lens[1]-1, ... (position within each run)."""
    total = int(lens.sum())
    return np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)


def _select(view_piece, view_bars, mel: _Melody, ent, prm: ThemeParams, details: bool = True) -> _Picks:
    """Greedy COSIATEC-like selection in every view at once (see the module docstring, steps 4-7).

    ``ent`` = (view, start bar s, offset d, transposition t) of every similar bar pair (distinct
    rows). With ``details`` false the occurrence lists (needed only by :func:`find_themes`) are left
    empty.
    """
    V = view_piece.size
    vb_off = np.zeros(V + 1, dtype=np.int64)
    np.cumsum(view_bars, out=vb_off[1:])
    covered = np.zeros(int(vb_off[-1]), dtype=bool)
    ncs = np.zeros(mel.bar_notes.size + 1, dtype=np.int64)
    np.cumsum(mel.bar_notes, out=ncs[1:])
    gbase = mel.bar_off[view_piece]  # global bar of each view's bar 0
    ev, es, ed, et = ent
    z = np.zeros(0, dtype=np.int64)
    picks_v, picks_s, picks_L = [], [], []
    occ_p, occ_d, occ_t = [], [], []
    n_picks = 0
    orig = None
    active = np.ones(V, dtype=bool)
    maxb = int(view_bars.max()) if V else 0
    W = maxb + 1
    T = int(np.abs(et).max()) if et.size else 0
    tkey = np.abs(et) * 2 + (et > 0)  # |t| ascending, then -t before +t
    # sort keys: k1 orders rows by (v, d, t, s), so that a run along (v, d, t) is consecutive rows
    # with keys one apart; k2 (with the run length added each round) by (v, s, d, longest run, tkey)
    k1, _ = _pack([(ev, V), (ed, maxb), (et + T, 2 * T), (es, maxb)])
    k2s, wd2 = _pack([(ev, V), (es, maxb), (ed, maxb), (np.zeros_like(ev), maxb), (tkey, 2 * T + 1)])
    order = np.lexsort((es, et, ed, ev)) if k1 is None else np.argsort(k1, kind="stable")
    gs = vb_off[ev] + es  # the rows' two bars in the views' bar numbering
    # one row per field, filtered together: v, s, d, t, first bar, second bar, (v, s, d) code, k2s, k1
    E = np.stack([ev, es, ed, et, gs, gs + ed, (ev * W + es) * W + ed, ev if k2s is None else k2s, ev if k1 is None else k1])
    E = E[:, order]
    first_round = True
    while True:
        if not first_round:
            alive = covered[E[4]]
            alive |= covered[E[5]]
            np.logical_not(alive, out=alive)
            alive &= active[E[0]]
            E = E[:, alive]
        first_round = False
        n = E.shape[1]
        if not n:
            break
        ev, es, ed, et = E[0], E[1], E[2], E[3]
        # run length R along (v, d, t) from each row: bars s+k ~ s+d+k under t for k < R
        brk = np.empty(n, dtype=bool)
        brk[-1] = True
        if k1 is not None:
            np.not_equal(E[8, 1:], E[8, :-1] + 1, out=brk[:-1])
        else:
            brk[:-1] = (ev[1:] != ev[:-1]) | (ed[1:] != ed[:-1]) | (et[1:] != et[:-1]) | (es[1:] != es[:-1] + 1)
        ends = np.flatnonzero(brk)
        lens = np.empty_like(ends)
        lens[0] = ends[0] + 1
        np.subtract(ends[1:], ends[:-1], out=lens[1:])
        R = np.repeat(ends + 1, lens) - np.arange(n)
        # per (v, s, d) the transposition with the longest run (ties: smallest |t|, then t), by (v, s, d)
        if k2s is not None:
            o2 = np.argsort(E[7] | ((maxb - R) << wd2[4]), kind="stable")
        else:
            o2 = np.lexsort((et, np.abs(et), -R, ed, es, ev))
        keep = o2[_changes(E[6][o2])]
        B = E[:5, keep]
        v, s, d, t, gsb = B
        R = R[keep]
        if orig is None:
            orig = (v, s, d, t, R)
        L = np.minimum(R, d)
        m = v.size
        # candidate c x recurrence o, both rows of the same (v, s) group (rows sorted by v, s, d)
        gstart = np.flatnonzero(_changes(v * W + s))
        gsize = np.empty_like(gstart)
        gsize[-1] = m - gstart[-1]
        np.subtract(gstart[1:], gstart[:-1], out=gsize[:-1])
        rep = np.repeat(gsize, gsize)
        c = np.repeat(np.arange(m), rep)
        o = np.repeat(np.repeat(gstart, gsize) - (np.cumsum(rep) - rep), rep) + np.arange(c.size)
        Lc = L[c]
        ok = L[o] >= Lc
        c, o, Lc = c[ok], o[ok], Lc[ok]
        # thin overlapping recurrences (left to right, against the previous candidate)
        do = d[o]
        prev_d = np.empty_like(do)
        prev_d[:1] = -(10**9)
        prev_d[1:] = do[:-1]
        keep = _changes(c)
        keep |= do - prev_d >= Lc
        c, o, do, Lc = c[keep], o[keep], do[keep], Lc[keep]
        p0 = gbase[v] + s  # global bar of each row's prototype (the same for c and o)
        g0 = p0[c] + do
        gain = np.bincount(c, weights=ncs[g0 + Lc] - ncs[g0] - 1, minlength=m)
        proto = ncs[p0 + L] - ncs[p0]
        cand = np.flatnonzero((proto >= prm.min_notes) & (gain >= prm.min_gain) & (gain > 0))
        if not cand.size:
            break
        # per view: the largest gain, then the longest, then the earliest (then the nearest recurrence)
        vc, sc, dc, Lk, gk = v[cand], s[cand], d[cand], L[cand], gain[cand].astype(np.int64)
        gmax = int(gk.max())
        k3, _ = _pack([(vc, V), (gmax - gk, gmax), (maxb - Lk, maxb), (sc, maxb), (dc, maxb)])
        o3 = np.lexsort((dc, sc, -Lk, -gk, vc)) if k3 is None else np.argsort(k3, kind="stable")
        cand = cand[o3]
        best = cand[_changes(vc[o3])]
        vbest = v[best]
        active[:] = False
        active[vbest] = True
        # record picks and cover their bars
        picks_v.append(vbest)
        picks_s.append(s[best])
        picks_L.append(L[best])
        is_best = np.zeros(m, dtype=bool)
        is_best[best] = True
        sel = is_best[c]
        cc, oo = c[sel], o[sel]
        if details:
            pid = n_picks + np.arange(best.size)
            map_ = np.full(m, -1, dtype=np.int64)
            map_[best] = pid
            occ_p.append(np.concatenate((pid, map_[cc])))
            occ_d.append(np.concatenate((np.zeros(best.size, np.int64), do[sel])))
            occ_t.append(np.concatenate((np.zeros(best.size, np.int64), t[oo])))
        n_picks += best.size
        cstart = np.concatenate((gsb[best], gsb[cc] + do[sel]))
        lens = np.concatenate((L[best], Lc[sel]))
        covered[np.repeat(cstart - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))] = True
    cat = lambda xs: np.concatenate(xs) if xs else z  # noqa: E731
    pv, ps, pL = cat(picks_v), cat(picks_s), cat(picks_L)
    merged = np.full(pv.size, -1, dtype=np.int64)
    merged_t = np.zeros(pv.size, dtype=np.int64)
    if pv.size > 1 and orig is not None and orig[0].size:
        # pairs of picks in one view with the same length: is the later prototype a recurrence of the earlier?
        order = np.lexsort((ps, pv))
        gv = pv[order]
        gstart = np.flatnonzero(_changes(gv))
        gsize = np.diff(np.append(gstart, gv.size))
        rep = np.repeat(gsize, gsize)
        a_pos = np.repeat(np.arange(gv.size), rep)
        b_pos = np.repeat(np.repeat(gstart, gsize), rep) + _ramp(rep)
        a_idx, b_idx = order[a_pos], order[b_pos]
        mm = (ps[a_idx] < ps[b_idx]) & (pL[a_idx] == pL[b_idx])
        a_idx, b_idx = a_idx[mm], b_idx[mm]
        if a_idx.size:
            ov, os_, od, ot, oR = orig
            span = int(max(vb_off[-1], 1)) + 1
            okeys = (ov * span + os_) * span + od
            qk = (pv[a_idx] * span + ps[a_idx]) * span + (ps[b_idx] - ps[a_idx])
            pos = np.clip(np.searchsorted(okeys, qk), 0, okeys.size - 1)
            hit = (okeys[pos] == qk) & (oR[pos] >= pL[a_idx])
            for a, bb, tt in zip(a_idx[hit].tolist(), b_idx[hit].tolist(), ot[pos][hit].tolist()):
                if merged[bb] < 0:
                    root = merged[a] if merged[a] >= 0 else a
                    merged[bb] = root
                    merged_t[bb] = tt + (merged_t[a] if merged[a] >= 0 else 0)
    # contrasting sections: maximal uncovered runs in views that have a theme
    if covered.size:
        has = np.zeros(V, dtype=bool)
        has[pv] = True
        vid = np.repeat(np.arange(V), view_bars)
        bar_local = np.arange(covered.size) - vb_off[vid]
        free = ~covered & has[vid]
        brk = _changes(vid)
        brk[1:] |= free[1:] != free[:-1]
        rs = np.flatnonzero(brk)
        rl = np.diff(np.append(rs, covered.size))
        g0 = gbase[vid[rs]] + bar_local[rs]
        notes = ncs[g0 + rl] - ncs[g0]
        sec = free[rs] & (rl >= prm.min_section_bars) & (notes >= prm.min_notes)
        sv, ss, sl = vid[rs][sec], bar_local[rs][sec], rl[sec]
    else:
        sv = ss = sl = z
    return _Picks(pv, ps, pL, cat(occ_p), cat(occ_d), cat(occ_t), merged, merged_t, sv, ss, sl)


def _analyse(b: NoteBatch, windows: Sequence[int | None], prm: ThemeParams, skip_whole_length: bool = False, details: bool = True):
    """Run the finder on every piece of ``b`` for every window (None = whole piece).

    With ``skip_whole_length``, a window as long as the piece gets no view of its own (its result is
    the whole piece's). ``details``: see :func:`_select`.

    Returns (melody, view_piece, view_window_index, view_bars, picks).
    """
    mel = _melody(b, prm)
    ep, ei, ed, et = _similar_bars(mel, prm)
    last = ei + ed
    vp, vw, vb = [], [], []
    ev, es, edd, ett = [], [], [], []
    base = 0
    for wi, w in enumerate(windows):
        if w is None:
            pieces = np.flatnonzero(mel.n_bars > 0)
            bars = mel.n_bars[pieces]
        else:
            pieces = np.flatnonzero(mel.n_bars > w if skip_whole_length else mel.n_bars >= w)
            bars = np.full(pieces.size, w, dtype=np.int64)
        view_of = np.full(b.n_pieces, -1, dtype=np.int64)
        view_of[pieces] = base + np.arange(pieces.size)
        vo = view_of[ep]
        m = vo >= 0
        if w is not None:
            m &= last < w
        ev.append(vo[m])
        es.append(ei[m])
        edd.append(ed[m])
        ett.append(et[m])
        vp.append(pieces)
        vw.append(np.full(pieces.size, wi, dtype=np.int64))
        vb.append(bars)
        base += pieces.size
    cat = np.concatenate
    view_piece, view_win, view_bars = cat(vp).astype(np.int64), cat(vw), cat(vb).astype(np.int64)
    picks = _select(view_piece, view_bars, mel, (cat(ev), cat(es), cat(edd), cat(ett)), prm, details)
    return mel, view_piece, view_win, view_bars, picks


def _counts_per_view(V: int, picks: _Picks) -> np.ndarray:
    distinct = picks.merged_into < 0
    return np.bincount(picks.view[distinct], minlength=V) + np.bincount(picks.section_view, minlength=V)


# ---------------------------------------------------------------------------------------- public API


def batch_theme_counts(
    b: NoteBatch, windows: Sequence[int | None] = (None,) + WINDOWS, params: ThemeParams | None = None
) -> dict[int | None, np.ndarray]:
    """Theme counts of every piece of a batch, for each window (``None`` = the whole piece).

    Returns:
        {window: float array (P,)} — the count of the first ``window`` bars, nan where the piece is
        shorter than the window (or, for the whole piece, has no pitched note).
    """
    prm = params or ThemeParams()
    windows = list(windows)
    reuse = None in windows
    mel, view_piece, view_win, _, picks = _analyse(b, windows, prm, skip_whole_length=reuse, details=False)
    counts = _counts_per_view(view_piece.size, picks)
    out: dict[int | None, np.ndarray] = {}
    for wi, w in enumerate(windows):
        arr = np.full(b.n_pieces, np.nan)
        m = view_win == wi
        arr[view_piece[m]] = counts[m]
        out[w] = arr
    if reuse:
        for w in windows:
            if w is not None:
                same = mel.n_bars == w  # the window is the whole piece
                out[w][same] = out[None][same]
    return out


def find_themes(piece: Piece, bars: int | None = None, params: ThemeParams | None = None) -> ThemeAnalysis:
    """Find the themes of ``piece`` (or of its first ``bars`` bars), see the module docstring.

    Raises:
        ValueError: ``bars`` < 1.
    """
    if bars is not None and bars < 1:
        raise ValueError("bars must be at least 1")
    prm = params or ThemeParams()
    b = NoteBatch.from_pieces([piece])
    mel, view_piece, _, view_bars, picks = _analyse(b, [bars] if bars is not None else [None], prm)
    n_bars = int(mel.n_bars[0]) if bars is None else min(int(bars), int(mel.n_bars[0]))
    themes: list[Theme] = []
    if view_piece.size:
        for i in range(picks.view.size):
            if picks.merged_into[i] >= 0:
                continue
            group = [i] + [j for j in range(picks.view.size) if picks.merged_into[j] == i]
            occ: list[tuple[int, int]] = []
            for j in group:
                sel = picks.occ_pick == j
                shift = int(picks.merged_t[j]) if j != i else 0  # merged: relative to the main prototype
                for dd, tt in zip(picks.occ_d[sel], picks.occ_t[sel]):
                    occ.append((int(picks.start[j] + dd), int(tt) + shift))
            occ = sorted(set(occ), key=lambda x: x[0])
            themes.append(Theme(int(picks.start[i]), int(picks.length[i]), occ, True))
        for s, L in zip(picks.section_start, picks.section_length):
            themes.append(Theme(int(s), int(L), [(int(s), 0)], False))
    res = b.resolution[0]
    keep = mel.bar < n_bars
    return ThemeAnalysis(
        themes=themes,
        n_bars=n_bars,
        bar_qn=float(b.bar_ticks[0] / res),
        melody_onset=mel.onset[keep] / res,
        melody_pitch=mel.pitch[keep].copy(),
        melody_bar=mel.bar[keep].copy(),
    )


def theme_count(piece: Piece, bars: int | None = None, params: ThemeParams | None = None) -> int | None:
    """Number of themes in ``piece`` (or its first ``bars`` bars): see the module docstring.

    Returns ``None`` when the piece is shorter than ``bars`` bars or has no pitched note.
    """
    out = batch_theme_counts(NoteBatch.from_pieces([piece]), [bars], params)[bars][0]
    return None if np.isnan(out) else int(out)


def theme_counts(piece: Piece, windows: Sequence[int] = WINDOWS, params: ThemeParams | None = None) -> dict[int, int | None]:
    """Theme count of the first 4, 8, 16 and 32 bars (``None`` where the piece is shorter)."""
    out = batch_theme_counts(NoteBatch.from_pieces([piece]), list(windows), params)
    return {w: (None if np.isnan(v[0]) else int(v[0])) for w, v in out.items()}


def mirex_patterns(analysis: ThemeAnalysis) -> list[list[list[tuple[float, float]]]]:
    """The repeated themes as mir_eval patterns: pattern -> occurrence -> [(onset qn, MIDI pitch)].

    An occurrence holds the melody notes whose onsets lie in its bars.
    """
    bar_of = analysis.melody_bar
    out = []
    for th in analysis.themes:
        if not th.repeated:
            continue
        pat = []
        for start, _t in th.occurrences:
            m = (bar_of >= start) & (bar_of < start + th.n_bars)
            occ = [(float(o), float(p)) for o, p in zip(analysis.melody_onset[m], analysis.melody_pitch[m])]
            if occ:
                pat.append(occ)
        if len(pat) >= 2:
            out.append(pat)
    return out


def themes_to_mirex(analysis: ThemeAnalysis, onset_shift: float = 0.0) -> str:
    """The repeated themes as MIREX "repeated themes" text (readable by ``mir_eval.io.load_patterns``).

    ``onset_shift`` (quarter notes) is added to every onset (e.g. to undo a pickup padding).
    """
    lines = []
    for i, pat in enumerate(mirex_patterns(analysis), 1):
        lines.append(f"pattern{i}")
        for j, occ in enumerate(pat, 1):
            lines.append(f"occurrence{j}")
            lines.extend(f"{o + onset_shift:.5f}, {p:.5f}" for o, p in occ)
    return "\n".join(lines) + ("\n" if lines else "")


def write_mirex(analysis: ThemeAnalysis, path: str | Path, force: bool = False, onset_shift: float = 0.0) -> Path:
    """Write :func:`themes_to_mirex` text to ``path`` atomically.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is false.
        UsageError: the folder is missing or not writable.
    """
    from musicgen._files import atomic_write_text

    return atomic_write_text(path, themes_to_mirex(analysis, onset_shift), force)


_DIATONIC = np.array([0, 2, 4, 5, 7, 9, 11])


def random_diatonic_phrase(rng: np.random.Generator, bars: int = 4, durations=(0.25, 0.5, 0.5, 1.0), bar_qn: float = 4.0) -> list[tuple[float, float, int]]:
    """A random C-major melody, the kind the theme finder's threshold is calibrated on (it should find no
    theme in it): ``bars`` bars of ``bar_qn`` quarter notes filled with durations drawn from
    ``durations`` (quarter notes) and pitches drawn uniformly from 10 scale degrees upward from C4.

    Returns:
        (onset qn, duration qn, MIDI pitch) rows.
    """
    rows = []
    for b in range(bars):
        t = 0.0
        while t < bar_qn - 1e-9:
            d = min(float(rng.choice(durations)), bar_qn - t)
            deg = int(rng.integers(0, 10))
            rows.append((b * bar_qn + t, d, 60 + 12 * (deg // 7) + int(_DIATONIC[deg % 7])))
            t += d
    return rows

