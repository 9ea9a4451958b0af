"""The theme finder's selection (steps 4-7 of :mod:`musicgen.metrics.themes`): COSIATEC-like greedy picks.

Input: the similar bar pairs of every *view* (a piece, or its first N bars) from
:func:`musicgen.metrics.theme_similarity.similar_bar_pairs`. All views are processed at once, in
rounds; each round, in every view that still has a candidate:

1. **Runs.** For each pair (bar *s*, bar *s + d*, transposition *t*), the run length *R*: how many
   bars *s + k* ~ *s + d + k* (under the same *t*) follow without a break.
2. **One transposition per offset.** For each (start *s*, offset *d*) the transposition with the
   longest run (ties: smallest |t|, then -t before +t). The prototype length for that recurrence is
   ``L = min(R, d)`` (no overlap with the prototype).
3. **Candidates.** A candidate is a prototype (*s*, *L*) with every recurrence (*s*, *d'*) whose own
   length is at least *L*; overlapping recurrences are thinned left to right against the previous
   one. Its *gain* is the sum over recurrences of (notes in the recurrence - 1); it qualifies with at
   least ``min_notes`` notes in the prototype and a gain of at least ``min_gain``.
4. **Pick** per view the largest gain (then the longest, the earliest, the nearest recurrence), and
   cover the bars of the prototype and its recurrences: pairs touching covered bars leave the game.

After the last round, a pick whose prototype recurs (same length, similar run in the first round) at
an earlier pick merges into it, and every maximal uncovered run of at least ``min_section_bars`` bars
with at least ``min_notes`` notes in a view with a theme becomes a contrasting section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from musicgen.metrics.basic import _changes
from musicgen.metrics.theme_similarity import Melody

__all__ = ["Picks", "select_themes"]


@dataclass
class Picks:
    """The selected themes of every view.

    Attributes:
        view, start, length: the view of each pick, its prototype's first bar and its length in bars.
        occ_pick, occ_offset, occ_transposition: one row per occurrence (prototype included): the
            pick, the offset in bars from the prototype (0 for the prototype) and the transposition.
            Empty unless the selection ran with ``details``.
        merged_into: -1, or the pick that this pick merges into (its prototype recurs there).
        merged_transposition: for a merged pick, the transposition of its prototype relative to
            the prototype it merged into.
        section_view, section_start, section_length: the contrasting sections.
    """

    view: np.ndarray
    start: np.ndarray
    length: np.ndarray
    occ_pick: np.ndarray
    occ_offset: np.ndarray
    occ_transposition: np.ndarray
    merged_into: np.ndarray
    merged_transposition: np.ndarray
    section_view: np.ndarray
    section_start: np.ndarray
    section_length: np.ndarray


# ---------------------------------------------------------------------------------------- sort keys

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


# ---------------------------------------------------------------------------------------- the pair table

# Rows of the pair table: one column per similar bar pair still in play, all rows filtered together.
_VIEW, _START, _OFFSET, _TRANSP, _FIRST_BAR, _SECOND_BAR, _GROUP, _RUN_KEY, _ORDER_KEY = range(9)


@dataclass
class _Views:
    """The views (piece, number of bars) and their bars.

    Attributes:
        n: number of views V.
        maxbar: the longest view, in bars.
        bar_offset: int64 (V+1,), the first bar of each view in the views' own bar numbering.
        global_bar0: int64 (V,), the melody's global bar of each view's bar 0.
        notes_before: int64 (total melody bars + 1,), melody notes before each global bar.
        covered: bool (total view bars,), bars already taken by a pick.
    """

    n: int
    maxbar: int
    bar_offset: np.ndarray
    global_bar0: np.ndarray
    notes_before: np.ndarray
    covered: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.covered = np.zeros(int(self.bar_offset[-1]), dtype=bool)

    def notes_in(self, first_global_bar: np.ndarray, n_bars: np.ndarray) -> np.ndarray:
        """Melody notes in ``n_bars`` bars from each global bar."""
        return self.notes_before[first_global_bar + n_bars] - self.notes_before[first_global_bar]


@dataclass
class _Keys:
    """Sort keys of the pair table (None where the fields do not fit in 62 bits).

    ``by_offset`` orders pairs by (view, offset, transposition, start): a run along (view, offset,
    transposition) is then consecutive columns whose keys are one apart. ``by_start`` orders them by
    (view, start, offset, [longest run first], |t|, -t before +t); ``tkey_bits`` is the width of its
    last field, the run field's place.
    """

    by_offset: np.ndarray | None
    by_start: np.ndarray | None
    tkey_bits: int


def _pair_table(
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], views: _Views
) -> tuple[np.ndarray, _Keys]:
    """The pair table (rows ``_VIEW``..``_ORDER_KEY``), sorted by (view, offset, transposition, start)."""
    view, start, offset, transp = pairs
    maxb, width = views.maxbar, views.maxbar + 1
    tmax = int(np.abs(transp).max()) if transp.size else 0
    tkey = np.abs(transp) * 2 + (transp > 0)  # |t| ascending, then -t before +t
    by_offset, _ = _pack([(view, views.n), (offset, maxb), (transp + tmax, 2 * tmax), (start, maxb)])
    by_start, widths = _pack(
        [(view, views.n), (start, maxb), (offset, maxb), (np.zeros_like(view), maxb), (tkey, 2 * tmax + 1)]
    )
    order = np.lexsort((start, transp, offset, view)) if by_offset is None else np.argsort(by_offset, kind="stable")
    first_bar = views.bar_offset[view] + start  # the pair's two bars in the views' bar numbering
    table = np.stack(
        [
            view,
            start,
            offset,
            transp,
            first_bar,
            first_bar + offset,
            (view * width + start) * width + offset,  # one code per (view, start, offset)
            view if by_start is None else by_start,
            view if by_offset is None else by_offset,
        ]
    )
    return table[:, order], _Keys(by_offset, by_start, widths[4])


def _run_lengths(table: np.ndarray, keys: _Keys) -> np.ndarray:
    """For each pair, how many consecutive bars from it recur under the same (view, offset, t)."""
    n = table.shape[1]
    run_ends_here = np.empty(n, dtype=bool)
    run_ends_here[-1] = True
    if keys.by_offset is not None:
        np.not_equal(table[_ORDER_KEY, 1:], table[_ORDER_KEY, :-1] + 1, out=run_ends_here[:-1])
    else:
        view, start, offset, transp = table[_VIEW], table[_START], table[_OFFSET], table[_TRANSP]
        run_ends_here[:-1] = (
            (view[1:] != view[:-1])
            | (offset[1:] != offset[:-1])
            | (transp[1:] != transp[:-1])
            | (start[1:] != start[:-1] + 1)
        )
    ends = np.flatnonzero(run_ends_here)
    lens = np.empty_like(ends)
    lens[0] = ends[0] + 1
    np.subtract(ends[1:], ends[:-1], out=lens[1:])
    return np.repeat(ends + 1, lens) - np.arange(n)


def _longest_run_per_offset(table: np.ndarray, run: np.ndarray, keys: _Keys, maxbar: int) -> np.ndarray:
    """Columns of the table that keep, per (view, start, offset), the transposition with the longest
    run (ties: smallest |t|, then -t before +t), in (view, start, offset) order."""
    if keys.by_start is not None:
        order = np.argsort(table[_RUN_KEY] | ((maxbar - run) << keys.tkey_bits), kind="stable")
    else:
        transp = table[_TRANSP]
        order = np.lexsort((transp, np.abs(transp), -run, table[_OFFSET], table[_START], table[_VIEW]))
    return order[_changes(table[_GROUP][order])]


@dataclass
class _Recurrences:
    """Candidate prototypes and their recurrences, one entry per (candidate, recurrence).

    Attributes:
        cand: index (into the kept rows) of the candidate (a prototype start and offset).
        rec: index of the recurrence, a row of the same (view, start) with a run at least as long.
        offset: the recurrence's offset in bars from the prototype.
        length: the candidate's prototype length L.
    """

    cand: np.ndarray
    rec: np.ndarray
    offset: np.ndarray
    length: np.ndarray


def _recurrences(
    view: np.ndarray, start: np.ndarray, offset: np.ndarray, length: np.ndarray, width: int
) -> _Recurrences:
    """Every (candidate, recurrence) pair of one (view, start) group (rows sorted by view, start,
    offset), with overlapping recurrences thinned left to right against the previous one."""
    m = view.size
    group_start = np.flatnonzero(_changes(view * width + start))
    group_size = np.empty_like(group_start)
    group_size[-1] = m - group_start[-1]
    np.subtract(group_start[1:], group_start[:-1], out=group_size[:-1])
    rep = np.repeat(group_size, group_size)
    cand = np.repeat(np.arange(m), rep)
    rec = np.repeat(np.repeat(group_start, group_size) - (np.cumsum(rep) - rep), rep) + np.arange(cand.size)
    cand_len = length[cand]
    long_enough = length[rec] >= cand_len
    cand, rec, cand_len = cand[long_enough], rec[long_enough], cand_len[long_enough]
    rec_offset = offset[rec]
    previous = np.empty_like(rec_offset)
    previous[:1] = -(10**9)
    previous[1:] = rec_offset[:-1]
    keep = _changes(cand)
    keep |= rec_offset - previous >= cand_len
    return _Recurrences(cand[keep], rec[keep], rec_offset[keep], cand_len[keep])


def _best_per_view(
    qualified: np.ndarray,
    view: np.ndarray,
    start: np.ndarray,
    offset: np.ndarray,
    length: np.ndarray,
    gain: np.ndarray,
    n_views: int,
    maxbar: int,
) -> np.ndarray:
    """Of the qualified candidates, per view: the largest gain, then the longest, then the earliest,
    then the nearest recurrence."""
    vc, sc, dc, lc, gc = (
        view[qualified],
        start[qualified],
        offset[qualified],
        length[qualified],
        gain[qualified].astype(np.int64),
    )
    gmax = int(gc.max())
    key, _ = _pack([(vc, n_views), (gmax - gc, gmax), (maxbar - lc, maxbar), (sc, maxbar), (dc, maxbar)])
    order = np.lexsort((dc, sc, -lc, -gc, vc)) if key is None else np.argsort(key, kind="stable")
    ranked = qualified[order]
    return ranked[_changes(vc[order])]


def _cover(covered: np.ndarray, first_bar: np.ndarray, n_bars: np.ndarray) -> None:
    """Mark ``n_bars`` bars from each ``first_bar`` (views' bar numbering) covered."""
    covered[np.repeat(first_bar - (np.cumsum(n_bars) - n_bars), n_bars) + np.arange(int(n_bars.sum()))] = True


# ---------------------------------------------------------------------------------------- selection


def select_themes(
    view_piece: np.ndarray,
    view_bars: np.ndarray,
    mel: Melody,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    min_notes: int,
    min_gain: int,
    min_section_bars: int,
    details: bool = True,
) -> Picks:
    """Greedy COSIATEC-like selection in every view at once (see the module docstring).

    Args:
        view_piece, view_bars: int64 (V,), the piece of each view and its length in bars.
        mel: the batch's melody (:func:`~musicgen.metrics.theme_similarity.melody_on_bars`).
        pairs: (view, start bar s, offset d, transposition t) of every similar bar pair of every view
            (distinct rows; bars s and s + d inside the view).
        min_notes: least melody notes in a prototype (and in a contrasting section).
        min_gain: least compression gain for a pick.
        min_section_bars: least length of a contrasting section, in bars.
        details: also list every occurrence (needed only by :func:`~musicgen.metrics.themes.find_themes`).
    """
    n_views = view_piece.size
    bar_offset = np.zeros(n_views + 1, dtype=np.int64)
    np.cumsum(view_bars, out=bar_offset[1:])
    notes_before = np.zeros(mel.bar_notes.size + 1, dtype=np.int64)
    np.cumsum(mel.bar_notes, out=notes_before[1:])
    maxbar = int(view_bars.max()) if n_views else 0
    views = _Views(n_views, maxbar, bar_offset, mel.bar_off[view_piece], notes_before)
    z = np.zeros(0, dtype=np.int64)
    pick_view, pick_start, pick_len = [], [], []
    occ_pick, occ_offset, occ_transp = [], [], []
    n_picks = 0
    first_round_best = None  # (view, start, offset, t, run) per (view, start, offset) before any pick
    active = np.ones(n_views, dtype=bool)  # views that picked in the last round (or all, at first)
    table, keys = _pair_table(pairs, views)
    first_round = True
    while True:
        if not first_round:
            alive = views.covered[table[_FIRST_BAR]]
            alive |= views.covered[table[_SECOND_BAR]]
            np.logical_not(alive, out=alive)
            alive &= active[table[_VIEW]]
            table = table[:, alive]
        first_round = False
        if not table.shape[1]:
            break
        run = _run_lengths(table, keys)
        kept = _longest_run_per_offset(table, run, keys, maxbar)
        view, start, offset, transp, first_bar = table[:_SECOND_BAR, kept]
        run = run[kept]
        if first_round_best is None:
            first_round_best = (view, start, offset, transp, run)
        length = np.minimum(run, offset)
        rec = _recurrences(view, start, offset, length, maxbar + 1)
        proto_bar = views.global_bar0[view] + start  # global bar of each row's prototype
        gain = np.bincount(
            rec.cand, weights=views.notes_in(proto_bar[rec.cand] + rec.offset, rec.length) - 1, minlength=view.size
        )
        proto_notes = views.notes_in(proto_bar, length)
        qualified = np.flatnonzero((proto_notes >= min_notes) & (gain >= min_gain) & (gain > 0))
        if not qualified.size:
            break
        best = _best_per_view(qualified, view, start, offset, length, gain, n_views, maxbar)
        active[:] = False
        active[view[best]] = True
        pick_view.append(view[best])
        pick_start.append(start[best])
        pick_len.append(length[best])
        is_best = np.zeros(view.size, dtype=bool)
        is_best[best] = True
        of_best = is_best[rec.cand]
        if details:
            pick_id = n_picks + np.arange(best.size)
            id_of_row = np.full(view.size, -1, dtype=np.int64)
            id_of_row[best] = pick_id
            occ_pick.append(np.concatenate((pick_id, id_of_row[rec.cand[of_best]])))
            occ_offset.append(np.concatenate((np.zeros(best.size, np.int64), rec.offset[of_best])))
            occ_transp.append(np.concatenate((np.zeros(best.size, np.int64), transp[rec.rec[of_best]])))
        n_picks += best.size
        _cover(
            views.covered,
            np.concatenate((first_bar[best], first_bar[rec.cand[of_best]] + rec.offset[of_best])),
            np.concatenate((length[best], rec.length[of_best])),
        )

    def cat(xs):
        return np.concatenate(xs) if xs else z

    pv, ps, pl = cat(pick_view), cat(pick_start), cat(pick_len)
    merged_into, merged_t = _merge_recurring_picks(pv, ps, pl, first_round_best, views)
    sv, ss, sl = _contrasting_sections(pv, view_bars, views, min_notes, min_section_bars)
    return Picks(pv, ps, pl, cat(occ_pick), cat(occ_offset), cat(occ_transp), merged_into, merged_t, sv, ss, sl)


def _merge_recurring_picks(
    pick_view, pick_start, pick_len, first_round_best, views: _Views
) -> tuple[np.ndarray, np.ndarray]:
    """For each pick, the earlier pick it merges into (-1: none) and the transposition between their
    prototypes: pairs of picks of one view with the same length, where the later prototype is a
    recurrence (a run at least that long in the first round) of the earlier one."""
    merged = np.full(pick_view.size, -1, dtype=np.int64)
    merged_t = np.zeros(pick_view.size, dtype=np.int64)
    if pick_view.size <= 1 or first_round_best is None or not first_round_best[0].size:
        return merged, merged_t
    order = np.lexsort((pick_start, pick_view))
    gv = pick_view[order]
    group_start = np.flatnonzero(_changes(gv))
    group_size = np.diff(np.append(group_start, gv.size))
    rep = np.repeat(group_size, group_size)
    a_pos = np.repeat(np.arange(gv.size), rep)
    b_pos = np.repeat(np.repeat(group_start, group_size), rep) + _ramp(rep)
    earlier, later = order[a_pos], order[b_pos]
    same_len = (pick_start[earlier] < pick_start[later]) & (pick_len[earlier] == pick_len[later])
    earlier, later = earlier[same_len], later[same_len]
    if not earlier.size:
        return merged, merged_t
    fv, fs, fd, ft, frun = first_round_best
    span = int(max(views.bar_offset[-1], 1)) + 1
    known = (fv * span + fs) * span + fd
    asked = (pick_view[earlier] * span + pick_start[earlier]) * span + (pick_start[later] - pick_start[earlier])
    pos = np.clip(np.searchsorted(known, asked), 0, known.size - 1)
    hit = (known[pos] == asked) & (frun[pos] >= pick_len[earlier])
    for a, b, t in zip(earlier[hit].tolist(), later[hit].tolist(), ft[pos][hit].tolist()):
        if merged[b] < 0:
            root = merged[a] if merged[a] >= 0 else a
            merged[b] = root
            merged_t[b] = t + (merged_t[a] if merged[a] >= 0 else 0)
    return merged, merged_t


def _contrasting_sections(pick_view, view_bars, views: _Views, min_notes: int, min_section_bars: int):
    """(view, start bar, length) of every maximal uncovered run of bars, in views that have a theme,
    at least ``min_section_bars`` long and holding at least ``min_notes`` melody notes."""
    covered = views.covered
    if not covered.size:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    has_theme = np.zeros(views.n, dtype=bool)
    has_theme[pick_view] = True
    vid = np.repeat(np.arange(views.n), view_bars)
    bar_local = np.arange(covered.size) - views.bar_offset[vid]
    free = ~covered & has_theme[vid]
    brk = _changes(vid)
    brk[1:] |= free[1:] != free[:-1]
    run_start = np.flatnonzero(brk)
    run_len = np.diff(np.append(run_start, covered.size))
    notes = views.notes_in(views.global_bar0[vid[run_start]] + bar_local[run_start], run_len)
    section = free[run_start] & (run_len >= min_section_bars) & (notes >= min_notes)
    return vid[run_start][section], bar_local[run_start][section], run_len[section]
