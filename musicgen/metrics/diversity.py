"""How varied a collection of pieces is, and how much of it is copied from a training set.

These figures look at the music itself (a generator that writes one tune for every seed scores badly
here, whatever its pitch-class entropy), on pieces given as bar grids of the same shape
(N pieces × bars × steps × pitches, cells 0 silent / 1 onset / 2 hold; :mod:`musicgen.grid`):

* **bar rhythm**: the set of steps of a bar at which a note starts (its onset pattern);
* **bar contour**: the signs (−1, 0, +1) of the successive intervals of the bar's melody (the highest
  note starting at each onset step), within the bar;
* **nearest-neighbour share** (:func:`nearest_neighbour_share`): for each piece, the other piece with
  the most aligned bars (bar *b* against bar *b*) carrying the same code, and the share of such bars;
  high values mean pieces that repeat each other;
* **distinct share** (:func:`distinct_share`): distinct bar codes over all bars of the collection;
* **copied windows** (:class:`WindowIndex`): the share of 4-bar windows whose notes, as (onset step in
  the window, pitch − the window's lowest pitch) pairs, also occur somewhere in a reference set (e.g. the
  training split), so a transposed copy counts as a copy.

Reference figures, measured on held-out 4/4 fiddle tunes (16 bars each) of the corpus by
``benchmarks/bench_diversity.py``, are printed next to generated pieces there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicgen.grid import note_starts

#: Bars per window for :class:`WindowIndex`.
WINDOW_BARS = 4


def melody(cells: np.ndarray) -> np.ndarray:
    """The top voice of each piece: int (N, bars, steps) of the highest pitch *index* starting at each
    step, −1 where no note starts.

    Raises:
        ValueError: ``cells`` is not 4-D.
    """
    c = np.asarray(cells)
    if c.ndim != 4:
        raise ValueError(f"expected cells shaped (pieces, bars, steps, pitches), got {c.shape}")
    st = note_starts(c)
    idx = np.arange(c.shape[-1])
    return np.where(st, idx, -1).max(axis=-1)


def bar_rhythms(cells: np.ndarray) -> np.ndarray:
    """Onset pattern of every bar as one integer code, int64 (N, bars): bit ``s`` is set when a note
    starts at step ``s`` (any voice).

    Raises:
        ValueError: more than 62 steps per bar, or ``cells`` not 4-D.
    """
    c = np.asarray(cells)
    if c.ndim != 4:
        raise ValueError(f"expected cells shaped (pieces, bars, steps, pitches), got {c.shape}")
    if c.shape[2] > 62:
        raise ValueError(f"bar rhythm codes hold at most 62 steps per bar, got {c.shape[2]}")
    on = note_starts(c).any(axis=-1)  # (N, bars, steps)
    weights = np.left_shift(np.int64(1), np.arange(c.shape[2], dtype=np.int64))
    return (on.astype(np.int64) * weights).sum(axis=-1)


def bar_contours(cells: np.ndarray) -> np.ndarray:
    """Melodic contour of every bar as one integer code, int64 (N, bars): the signs of the successive
    intervals of the bar's top voice (:func:`melody`), written in base 3 after a leading 1 (so that
    contours of different lengths differ). A bar with fewer than two notes has code 1.

    Raises:
        ValueError: ``cells`` not 4-D.
    """
    mel = melody(cells)  # (N, bars, steps)
    n, bars, steps = mel.shape
    out = np.ones((n, bars), np.int64)
    for i in range(n):  # N x bars small loops over a few notes each; pieces are short
        for b in range(bars):
            p = mel[i, b][mel[i, b] >= 0]
            code = 1
            for s in np.sign(np.diff(p)):
                code = code * 3 + int(s) + 1
            out[i, b] = code
    return out


def nearest_neighbour_share(codes: np.ndarray) -> np.ndarray:
    """For each piece, the largest share of aligned bars with equal codes that any *other* piece has.

    Args:
        codes: int (N, bars), e.g. :func:`bar_rhythms` or :func:`bar_contours` (N >= 2).

    Returns:
        float (N,) in [0, 1].

    Raises:
        ValueError: fewer than two pieces.
    """
    c = np.asarray(codes)
    if c.ndim != 2 or c.shape[0] < 2:
        raise ValueError(f"need codes shaped (pieces >= 2, bars), got {c.shape}")
    same = (c[:, None, :] == c[None, :, :]).mean(axis=2)
    np.fill_diagonal(same, -1.0)
    return same.max(axis=1)


def distinct_share(codes: np.ndarray) -> float:
    """Distinct codes over all bars of the collection (1 = every bar different)."""
    c = np.asarray(codes).ravel()
    return float(np.unique(c).size / c.size) if c.size else float("nan")


def window_signatures(cells: np.ndarray, window: int = WINDOW_BARS) -> list[list[bytes | None]]:
    """Transposition-invariant signatures of every ``window``-bar window of every piece, starting at
    every bar: the bytes of the (onset step within the window, pitch − lowest pitch of the window) pairs
    of the top voice. None for a window without notes.

    Returns:
        one list per piece of ``bars − window + 1`` signatures (empty when the piece is shorter).
    """
    mel = melody(cells)
    n, bars, steps = mel.shape
    out = []
    for i in range(n):
        flat = mel[i].reshape(-1)
        t = np.nonzero(flat >= 0)[0]
        p = flat[t]
        sigs: list[bytes | None] = []
        for b in range(bars - window + 1):
            lo, hi = np.searchsorted(t, [b * steps, (b + window) * steps])
            if hi == lo:
                sigs.append(None)
                continue
            pp = p[lo:hi]
            sig = np.stack([t[lo:hi] - b * steps, pp - pp.min()]).astype(np.int16)
            sigs.append(sig.tobytes())
        out.append(sigs)
    return out


@dataclass
class WindowIndex:
    """The set of transposition-invariant ``window``-bar signatures of a reference collection (e.g. the
    training split), to measure copying (see the module docstring).

    Attributes:
        signatures: the set of signatures (bytes).
        window: bars per window.
    """

    signatures: set
    window: int = WINDOW_BARS

    @classmethod
    def from_tunes(cls, tunes: list[np.ndarray], window: int = WINDOW_BARS) -> WindowIndex:
        """Index every window of every tune (each tune a cells array (bars, steps, pitches), any length)."""
        sigs: set = set()
        for cells in tunes:
            for s in window_signatures(np.asarray(cells)[None], window)[0]:
                if s is not None:
                    sigs.add(s)
        return cls(sigs, window)

    def copied_share(self, cells: np.ndarray) -> tuple[float, int]:
        """Share of the windows (with notes) of pieces ``cells`` (N, bars, steps, pitches) found in the
        index, and how many windows were looked at (NaN share when none)."""
        found = total = 0
        for sigs in window_signatures(cells, self.window):
            for s in sigs:
                if s is None:
                    continue
                total += 1
                found += s in self.signatures
        return (found / total if total else float("nan")), total


def diversity_figures(cells: np.ndarray, index: WindowIndex | None = None) -> dict:
    """The diversity figures of a collection of pieces ``cells`` (N >= 2, bars, steps, pitches).

    Returns:
        dict with ``pieces``, ``nn_rhythm`` and ``nn_contour`` (mean nearest-neighbour shares),
        ``distinct_rhythms`` (distinct share of bar rhythms), and, when ``index`` is given,
        ``copied_windows`` (share of 4-bar windows found in it) and ``windows``; the per-piece arrays
        ``nn_rhythm_each`` / ``nn_contour_each`` (for bootstrap intervals).
    """
    rh, co = bar_rhythms(cells), bar_contours(cells)
    nr, nc = nearest_neighbour_share(rh), nearest_neighbour_share(co)
    out = {
        "pieces": int(np.asarray(cells).shape[0]),
        "nn_rhythm": float(nr.mean()),
        "nn_contour": float(nc.mean()),
        "distinct_rhythms": distinct_share(rh),
        "nn_rhythm_each": nr,
        "nn_contour_each": nc,
    }
    if index is not None:
        out["copied_windows"], out["windows"] = index.copied_share(cells)
    return out


__all__ = [
    "WINDOW_BARS",
    "WindowIndex",
    "bar_contours",
    "bar_rhythms",
    "distinct_share",
    "diversity_figures",
    "melody",
    "nearest_neighbour_share",
    "window_signatures",
]
