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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from musicgen.metrics.basic import NoteBatch
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


def _skyline(b: NoteBatch, piece, onset, pitch, end, spq: int) -> np.ndarray:
    """Indices of the skyline notes of (piece, onset, pitch)-sorted notes.

    A note is in the skyline when it is the highest note starting at its onset and no higher note that
    started earlier still sounds there (compared on the grid of ``spq`` steps per quarter, so a
    legato overlap shorter than half a step does not hide the next note).
    """
    last = np.flatnonzero(np.r_[(piece[1:] != piece[:-1]) | (onset[1:] != onset[:-1]), True])
    piece, pitch = piece[last], pitch[last]
    res = b.resolution[piece]
    s_on = np.rint(onset[last] * spq / res).astype(np.int64)
    # the longest of the notes starting at that onset decides how long the onset "sounds"
    ends = np.maximum.reduceat(end, np.r_[0, last[:-1] + 1]) if last.size else end[:0]
    s_end = np.rint(ends * spq / res).astype(np.int64)
    big = int(max(s_end.max(initial=0), s_on.max(initial=0))) + 2
    off = piece * big
    reach = np.maximum.accumulate(s_end + off)
    before = np.r_[np.iinfo(np.int64).min, reach[:-1]]
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
    keep = np.r_[code[1:] != code[:-1], True]
    code, top = code[keep], top[keep]
    q = off[inside] + s_on[inside]
    pos = np.clip(np.searchsorted(code, q), 0, max(code.size - 1, 0))
    hidden = np.zeros(last.size, dtype=bool)
    if code.size:
        hidden[inside] = (code[pos] == q) & (top[pos] > pitch[inside])
    return last[~hidden]


def _melody(b: NoteBatch, prm: ThemeParams) -> _Melody:
    """Skyline (or all) pitched notes, sorted by piece and onset, placed on the bar grid."""
    m = b.pitched()
    piece, onset, pitch, end = b.piece[m], b.onset[m], b.pitch[m], b.end[m]
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
    res = b.resolution[piece]
    step = np.rint(onset * spq / res)
    spb = (b.bar_ticks * spq / b.resolution)[piece]  # steps per bar (float for odd meters)
    # a note up to ``delta_steps`` before a barline (an early downbeat) belongs to the next bar
    bar = np.floor((step + tol) / spb + 1e-9).astype(np.int64)
    slot = np.rint(step - bar * spb).astype(np.int64) + tol
    n_bars = np.zeros(b.n_pieces, dtype=np.int64)
    if bar.size:
        starts = np.flatnonzero(np.r_[True, piece[1:] != piece[:-1]])
        n_bars[piece[starts]] = np.maximum.reduceat(bar, starts) + 1
    bar_off = np.concatenate([[0], np.cumsum(n_bars)])
    bar_notes = np.bincount(bar_off[piece] + bar, minlength=int(bar_off[-1]))
    return _Melody(piece, onset, pitch, bar, slot, n_bars, bar_off, bar_notes)


def _similar_bars(mel: _Melody, prm: ThemeParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All (piece, i, d, t): bars i and i + d (d > 0) of a piece are similar under transposition t.

    Counting is a sparse matrix product (scipy, compiled): notes become features (piece, slot, pitch);
    the earlier-side notes are widened by ``delta_steps`` slots either way; one product per
    transposition 0..max_transposition gives, for every ordered pair of bars, the number of note pairs
    that match (both triangles give +t and -t).
    """
    import scipy.sparse as sp

    z = np.zeros(0, dtype=np.int64)
    M = mel.piece.size
    if M == 0:
        return z, z, z, z
    tol, tmax = prm.delta_steps, prm.max_transposition
    gbar = mel.bar_off[mel.piece] + mel.bar
    nb = int(mel.bar_off[-1])
    # features (piece, slot, pitch) in one block per piece, sized to that piece's slots and pitches
    starts = np.flatnonzero(np.r_[True, mel.piece[1:] != mel.piece[:-1]])
    owner = mel.piece[starts]
    P = int(mel.n_bars.size)
    minp = np.zeros(P, dtype=np.int64)
    minp[owner] = np.minimum.reduceat(mel.pitch, starts)
    span_p = np.zeros(P, dtype=np.int64)
    span_p[owner] = np.maximum.reduceat(mel.pitch, starts) - minp[owner] + tmax + 1
    slots_p = np.zeros(P, dtype=np.int64)
    slots_p[owner] = np.maximum.reduceat(mel.slot, starts) + 2 * tol + 1
    foff = np.concatenate([[0], np.cumsum(slots_p * span_p)])
    PR = span_p[mel.piece]
    feat = foff[mel.piece] + (mel.slot + tol) * PR + (mel.pitch - minp[mel.piece])
    F = int(foff[-1])
    # rows (t, bar) of the later side: the bar's notes moved up t semitones, t = 0..tmax, in one matrix
    n_t = tmax + 1
    counts = np.bincount(gbar, minlength=nb)
    later_indptr = np.concatenate([[0], np.cumsum(np.tile(counts, n_t))]).astype(np.int32)
    feat32 = feat.astype(np.int32)
    later_idx = (feat32[None, :] + np.arange(n_t, dtype=np.int32)[:, None]).ravel()  # notes are in bar order
    later = sp.csr_matrix((np.ones(later_idx.size, dtype=np.float32), later_idx, later_indptr), shape=(n_t * nb, F))
    # the earlier side, widened by +-tol slots, each entry scaled by 1 / (notes in its bar): a product
    # entry is then matches / n_q, and sim >= theta needs it >= theta -- a cheap first filter
    widen = (np.arange(-tol, tol + 1)[None, :] * PR[:, None]).astype(np.int32)
    wide_f = (feat32[:, None] + widen).ravel()
    inv = (1.0 / np.maximum(counts, 1)).astype(np.float32)
    wide = sp.csr_matrix(
        (np.repeat(inv, counts * widen.shape[1]), wide_f, np.concatenate([[0], np.cumsum(counts * widen.shape[1])]).astype(np.int32)),
        shape=(nb, F),
    )
    wide_t = wide.T.tocsr()
    bar_piece = np.repeat(np.arange(mel.n_bars.size), mel.n_bars)
    nbn = mel.bar_notes
    c = later @ wide_t  # c[t * nb + r, q]: share of bar q's notes met by bar r's notes moved up t semitones
    cand = np.flatnonzero(c.data >= prm.theta - 1e-6)
    row = np.searchsorted(c.indptr, cand, side="right") - 1
    t_of, r = np.divmod(row, nb)
    q = c.indices[cand]
    nr, nq = nbn[r], nbn[q]
    matches = np.rint(c.data[cand] * nq)
    ok = np.minimum(matches, np.minimum(nr, nq)) >= prm.theta * np.maximum(nr, nq) - 1e-9
    ok &= np.where(t_of == 0, r < q, r != q)
    r, q, t_of = r[ok], q[ok], t_of[ok]
    fwd = r < q
    gi, gj = np.where(fwd, r, q), np.where(fwd, q, r)
    tt = np.where(fwd, t_of, -t_of)
    piece = bar_piece[gi]
    return piece, gi - mel.bar_off[piece], gj - gi, tt.astype(np.int64)


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


def _runs(v, s, d, t):
    """Run length R of consecutive similar bar pairs starting at each entry, along its (v, d, t)."""
    order = np.lexsort((s, t, d, v))
    v, s, d, t = v[order], s[order], d[order], t[order]
    n = v.size
    brk = np.r_[True, (v[1:] != v[:-1]) | (d[1:] != d[:-1]) | (t[1:] != t[:-1]) | (s[1:] != s[:-1] + 1)]
    rid = np.cumsum(brk) - 1
    starts = np.flatnonzero(brk)
    last_s = s[np.r_[starts[1:] - 1, n - 1]]
    return v, s, d, t, last_s[rid] - s + 1


def _best_per_vsd(v, s, d, t, R):
    """Keep, per (v, s, d), the transposition with the longest run (ties: smallest |t|, then t)."""
    order = np.lexsort((t, np.abs(t), -R, d, s, v))
    v, s, d, t, R = v[order], s[order], d[order], t[order], R[order]
    first = np.r_[True, (v[1:] != v[:-1]) | (s[1:] != s[:-1]) | (d[1:] != d[:-1])]
    return v[first], s[first], d[first], t[first], R[first]


def _select(view_piece, view_bars, mel: _Melody, ent, prm: ThemeParams) -> _Picks:
    """Greedy COSIATEC-like selection in every view at once (see the module docstring, steps 4-7)."""
    V = view_piece.size
    vb_off = np.concatenate([[0], np.cumsum(view_bars)])
    covered = np.zeros(int(vb_off[-1]), dtype=bool)
    ncs = np.concatenate([[0], np.cumsum(mel.bar_notes)])
    gbase = mel.bar_off[view_piece]  # global bar of each view's bar 0
    ev, es, ed, et = ent
    picks_v, picks_s, picks_L = [], [], []
    occ_p, occ_d, occ_t = [], [], []
    n_picks = 0
    orig = None
    active = np.ones(V, dtype=bool)
    while ev.size:
        alive = ~(covered[vb_off[ev] + es] | covered[vb_off[ev] + es + ed]) & active[ev]
        ev, es, ed, et = ev[alive], es[alive], ed[alive], et[alive]
        if not ev.size:
            break
        v, s, d, t, R = _best_per_vsd(*_runs(ev, es, ed, et))
        if orig is None:
            orig = (v, s, d, t, R)
        L = np.minimum(R, d)
        # candidate c x recurrence o, both rows of the same (v, s) group (rows sorted by v, s, d)
        gstart = np.flatnonzero(np.r_[True, (v[1:] != v[:-1]) | (s[1:] != s[:-1])])
        gsize = np.diff(np.r_[gstart, v.size])
        gid = np.repeat(np.arange(gstart.size), gsize)
        rep = gsize[gid]
        c = np.repeat(np.arange(v.size), rep)
        o = gstart[gid][c] + (np.arange(c.size) - np.repeat(np.cumsum(rep) - rep, rep))
        ok = L[o] >= L[c]
        c, o = c[ok], o[ok]
        # thin overlapping recurrences (left to right, against the previous candidate)
        prev_d = np.r_[-(10**9), d[o][:-1]]
        first = np.r_[True, c[1:] != c[:-1]]
        keep = first | (d[o] - prev_d >= L[c])
        c, o = c[keep], o[keep]
        g0 = gbase[v[o]] + s[o] + d[o]
        occ_notes = ncs[g0 + L[c]] - ncs[g0]
        gain = np.bincount(c, weights=occ_notes - 1, minlength=v.size)
        p0 = gbase[v] + s
        proto = ncs[p0 + L] - ncs[p0]
        valid = (proto >= prm.min_notes) & (gain >= prm.min_gain) & (gain > 0)
        if not valid.any():
            break
        cand = np.flatnonzero(valid)
        order = np.lexsort((s[cand], -L[cand], -gain[cand], v[cand]))
        cand = cand[order]
        best = cand[np.r_[True, v[cand][1:] != v[cand][:-1]]]
        active[:] = False
        active[v[best]] = True
        # record picks and cover their bars
        pid = n_picks + np.arange(best.size)
        n_picks += best.size
        picks_v.append(v[best]); picks_s.append(s[best]); picks_L.append(L[best])
        sel = np.isin(c, best)
        cc, oo = c[sel], o[sel]
        map_ = np.full(v.size, -1, dtype=np.int64)
        map_[best] = pid
        occ_p.append(np.r_[pid, map_[cc]]); occ_d.append(np.r_[np.zeros(best.size, np.int64), d[oo]])
        occ_t.append(np.r_[np.zeros(best.size, np.int64), t[oo]])
        starts = np.r_[vb_off[v[best]] + s[best], vb_off[v[cc]] + s[cc] + d[oo]]
        lens = np.r_[L[best], L[cc]]
        idx = np.repeat(starts, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
        covered[idx] = True
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64)  # noqa: E731
    pv, ps, pL = cat(picks_v), cat(picks_s), cat(picks_L)
    merged = np.full(pv.size, -1, dtype=np.int64)
    merged_t = np.zeros(pv.size, dtype=np.int64)
    if pv.size > 1 and orig is not None and orig[0].size:
        # pairs of picks in one view with the same length: is the later prototype a recurrence of the earlier?
        order = np.lexsort((ps, pv))
        gv = pv[order]
        gstart = np.flatnonzero(np.r_[True, gv[1:] != gv[:-1]])
        gsize = np.diff(np.r_[gstart, gv.size])
        gid = np.repeat(np.arange(gstart.size), gsize)
        rep = gsize[gid]
        a_pos = np.repeat(np.arange(gv.size), rep)
        b_pos = gstart[gid][a_pos] + (np.arange(a_pos.size) - np.repeat(np.cumsum(rep) - rep, rep))
        a_idx, b_idx = order[a_pos], order[b_pos]
        m = (ps[a_idx] < ps[b_idx]) & (pL[a_idx] == pL[b_idx])
        a_idx, b_idx = a_idx[m], b_idx[m]
        if a_idx.size:
            ov, os_, od, ot, oR = orig
            span = int(max(vb_off[-1], 1)) + 1
            okeys = (ov * span + os_) * span + od
            qk = (pv[a_idx] * span + ps[a_idx]) * span + (ps[b_idx] - ps[a_idx])
            pos = np.clip(np.searchsorted(okeys, qk), 0, okeys.size - 1)
            hit = (okeys[pos] == qk) & (oR[pos] >= pL[a_idx])
            for a, bb, tt in zip(a_idx[hit], b_idx[hit], ot[pos][hit]):
                if merged[bb] < 0:
                    root = merged[a] if merged[a] >= 0 else a
                    merged[bb] = root
                    merged_t[bb] = int(tt) + (merged_t[a] if merged[a] >= 0 else 0)
    # contrasting sections: maximal uncovered runs in views that have a theme
    has = np.zeros(V, dtype=bool)
    has[pv] = True
    vid = np.repeat(np.arange(V), view_bars)
    bar_local = np.arange(covered.size) - vb_off[vid]
    free = ~covered & has[vid]
    brk = np.r_[True, (vid[1:] != vid[:-1]) | (free[1:] != free[:-1])] if covered.size else np.zeros(0, bool)
    rs = np.flatnonzero(brk)
    rl = np.diff(np.r_[rs, covered.size])
    is_free = free[rs] if rs.size else np.zeros(0, bool)
    g0 = gbase[vid[rs]] + bar_local[rs] if rs.size else np.zeros(0, np.int64)
    notes = ncs[g0 + rl] - ncs[g0] if rs.size else np.zeros(0, np.int64)
    sec = is_free & (rl >= prm.min_section_bars) & (notes >= prm.min_notes)
    return _Picks(
        pv, ps, pL, cat(occ_p), cat(occ_d), cat(occ_t), merged, merged_t,
        vid[rs][sec] if rs.size else np.zeros(0, np.int64),
        bar_local[rs][sec] if rs.size else np.zeros(0, np.int64),
        rl[sec] if rs.size else np.zeros(0, np.int64),
    )


def _analyse(b: NoteBatch, windows: Sequence[int | None], prm: ThemeParams, skip_whole_length: bool = False):
    """Run the finder on every piece of ``b`` for every window (None = whole piece).

    With ``skip_whole_length``, a window as long as the piece gets no view of its own (its result is
    the whole piece's).

    Returns (melody, view_piece, view_window_index, view_bars, picks).
    """
    mel = _melody(b, prm)
    ep, ei, ed, et = _similar_bars(mel, prm)
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
        m = view_of[ep] >= 0
        if w is not None:
            m &= ei + ed < w
        ev.append(view_of[ep[m]]); es.append(ei[m]); edd.append(ed[m]); ett.append(et[m])
        vp.append(pieces); vw.append(np.full(pieces.size, wi)); vb.append(bars)
        base += pieces.size
    cat = np.concatenate
    view_piece, view_win, view_bars = cat(vp).astype(np.int64), cat(vw).astype(np.int64), cat(vb).astype(np.int64)
    picks = _select(view_piece, view_bars, mel, (cat(ev), cat(es), cat(edd), cat(ett)), prm)
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
    mel, view_piece, view_win, _, picks = _analyse(b, windows, prm, skip_whole_length=reuse)
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
