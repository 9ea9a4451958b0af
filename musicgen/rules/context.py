"""The arrays rule kinds read: one :class:`GridContext` (numpy, exact) or :class:`SoftContext` (torch,
soft) per batch of candidates. Each derived array is computed once, on first use, and shared by all
rules of a rule set (e.g. the per-step count of sounding notes serves the polyphony and the rest rule).

Both contexts expose the same names; rule kinds implement ``exact(ctx)`` on a GridContext and
``soft(ctx)`` on a SoftContext with the same formulas (see :mod:`musicgen.rules.kinds`).

Keys and chords are discrete choices, made in numpy from the (detached) per-bar pitch-class histograms
in both contexts: on hard 0/1 grids the histograms are equal integers, so both contexts choose the same
keys and chords.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

import musicgen.rules.chords as ch
from musicgen.grid import GridSpec
from musicgen.piece import Key


def normalise_keys(key: Any, n: int) -> np.ndarray:
    """Keys as int (n, 2) of (tonic, mode 0 major / 1 minor); tonic -1 means "estimate".

    ``key`` may be None (estimate all), a :class:`Key` (all candidates), a sequence of ``Key | None``
    (one per candidate) or an int array (2,) / (n, 2).

    Raises:
        ValueError: a sequence or array of the wrong length.
    """
    out = np.full((n, 2), -1, dtype=np.int64)
    out[:, 1] = 0
    if key is None:
        return out
    if isinstance(key, Key):
        out[:] = (key.tonic % 12, int(key.mode == "minor"))
        return out
    if isinstance(key, np.ndarray) or (
        isinstance(key, (list, tuple)) and key and not isinstance(key[0], (Key, type(None)))
    ):
        arr = np.asarray(key, dtype=np.int64).reshape(-1, 2)
        if arr.shape[0] not in (1, n):
            raise ValueError(f"{arr.shape[0]} keys for {n} candidates")
        out[:] = arr
        return out
    keys = list(key)
    if len(keys) != n:
        raise ValueError(f"{len(keys)} keys for {n} candidates")
    for i, k in enumerate(keys):
        if k is not None:
            out[i] = (k.tonic % 12, int(k.mode == "minor"))
    return out


def normalise_chords(chords: Any, n: int, n_bars: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Chords as (per-beat array (n, bars, K, 2) or None, chord symbols (m, 3) or None).

    ``chords`` may be None (estimate per bar), chord symbols as in :attr:`Piece.chords` (float array
    (m, 3) of onset qn, root pc, quality; applied to every candidate), or int arrays of (root pc, quality)
    shaped (bars, 2), (n, bars, 2) (one chord per bar) or (n, bars, K, 2) (one per strong beat); a root of
    -1 means "estimate this bar's chord".

    Raises:
        ValueError: a shape that fits none of these.
    """
    if chords is None:
        return None, None
    arr = np.asarray(chords)
    if arr.ndim == 2 and arr.shape[1] == 3:
        return None, arr.astype(np.float64)
    arr = arr.astype(np.int64)
    if arr.ndim == 2 and arr.shape == (n_bars, 2):
        arr = arr[None, :, None, :]
    elif arr.ndim == 3 and arr.shape[1:] == (n_bars, 2):
        arr = arr[:, :, None, :]
    elif not (arr.ndim == 4 and arr.shape[1] == n_bars and arr.shape[3] == 2):
        raise ValueError(
            f"chords shaped {arr.shape} fit neither (bars, 2), (N, bars, 2), (N, bars, K, 2) nor symbols (m, 3)"
        )
    if arr.shape[0] not in (1, n):
        raise ValueError(f"chords for {arr.shape[0]} candidates, {n} given")
    return np.broadcast_to(arr, (n,) + arr.shape[1:]), None


def _count_dtype(n: int):
    """The smallest unsigned dtype that holds counts up to ``n``."""
    return np.uint8 if n <= 255 else np.int32


def tsum(x, dims: int | tuple[int, ...]):
    """Sum a torch tensor over a contiguous block of dimensions, as a matrix product.

    On CPU, torch's ``sum`` over inner dimensions is several times slower than the equivalent GEMV /
    batched GEMM; on whole numbers both are exact.
    """
    dims = (dims,) if isinstance(dims, int) else tuple(sorted(d % x.dim() for d in dims))
    if list(dims) != list(range(dims[0], dims[-1] + 1)):
        return x.sum(dim=dims)
    shape = x.shape
    pre, red, post = shape[: dims[0]], shape[dims[0] : dims[-1] + 1], shape[dims[-1] + 1 :]
    n_pre, n_red, n_post = int(np.prod(pre)), int(np.prod(red)), int(np.prod(post))
    if n_pre * n_red * n_post == 0:
        return x.sum(dim=dims)
    if n_post == 1:
        out = x.reshape(n_pre, n_red) @ x.new_ones(n_red)
    else:
        out = x.new_ones(1, n_red) @ x.reshape(n_pre, n_red, n_post)
    return out.reshape(tuple(pre) + tuple(post))


class _KeyChordMixin:
    """Key and chord choice shared by both contexts. Needs ``pc_hist_bars_np``, ``key_in``, ``chords_in``."""

    spec: GridSpec
    key_in: np.ndarray  # (n, 2): tonic < 0 means "estimate"
    chords_in: np.ndarray | None  # (n, bars, K, 2) or (n, bars, 1, 2); root < 0 means "estimate"
    symbols: np.ndarray | None  # (m, 3) chord symbols (onset qn, root, quality) for every candidate
    n_bars: int
    _chord_cache: dict

    @property
    def pc_hist_bars_np(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    @cached_property
    def keys_and_estimated(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys (n, 2) int: tonic, mode 0 major / 1 minor; estimated (n,) bool)."""
        need = self.key_in[:, 0] < 0
        keys = self.key_in.copy()
        if need.any():
            keys[need] = ch.estimate_keys(self.pc_hist_bars_np[need].sum(axis=1))
        return keys, need

    @property
    def keys(self) -> np.ndarray:
        """int (n, 2): the key of each candidate (given or estimated)."""
        return self.keys_and_estimated[0]

    @cached_property
    def bar_chords(self) -> np.ndarray:
        """int (n, bars, 2): the estimated diatonic triad of each bar."""
        return ch.estimate_bar_chords(self.pc_hist_bars_np, self.keys)

    def chords_at(self, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chords at the given strong-beat steps of every bar.

        Given per-beat chords are used as they are; otherwise chord symbols in effect at each beat;
        where neither gives a chord (root -1), the bar's estimated triad.

        Returns:
            (chords int (n, bars, K, 2), estimated bool (n, bars, K)) with K = ``len(steps)``.

        Raises:
            ValueError: given chords with a strong-beat axis that is neither 1 nor K.
        """
        cache_key = tuple(int(s) for s in steps)
        if cache_key in self._chord_cache:
            return self._chord_cache[cache_key]
        k = len(cache_key)
        n, bars = self.key_in.shape[0], self.n_bars
        if self.chords_in is not None:
            c = self.chords_in
            if c.shape[2] not in (1, k):
                raise ValueError(f"chords have {c.shape[2]} entries per bar; the meter has {k} strong beats")
            given = np.broadcast_to(c, (n, bars, k, 2))
        elif self.symbols is not None:
            beats_qn = np.asarray(cache_key, dtype=np.float64) / self.spec.steps_per_quarter
            per = ch.chords_from_symbols(self.symbols, bars, self.spec.bar_quarters, beats_qn)
            given = np.broadcast_to(per[None], (n, bars, k, 2))
        else:
            given = np.full((n, bars, k, 2), -1, dtype=np.int64)
        est = given[..., 0] < 0
        out = np.array(given, dtype=np.int64)
        if est.any():
            out = np.where(est[..., None], self.bar_chords[:, :, None, :], out)
        self._chord_cache[cache_key] = (out, est)
        return out, est


class GridContext(_KeyChordMixin):
    """Exact (numpy) view of a batch of hard grids.

    Args:
        data: int8 (n, bars, steps, pitches) of 0 silent / 1 onset / 2 hold.
        spec: the grid's :class:`GridSpec`.
        key_in: int (n, 2) of (tonic, mode); tonic -1 where the key must be estimated.
        chords_in: int (n, bars, K, 2) of (root, quality) or None; root -1 where the chord must be estimated.
        explain: whether rules should also return per-cell violation masks.
        symbols: chord symbols (m, 3) (onset qn, root pc, quality) shared by all candidates, or None;
            used where ``chords_in`` is None.
        lead_in: grid steps at the start of the first bar that precede the music (the padding before a
            pickup); they are neither sounding nor rests.
    """

    def __init__(
        self,
        data: np.ndarray,
        spec: GridSpec,
        key_in: np.ndarray,
        chords_in: np.ndarray | None,
        explain: bool = False,
        symbols: np.ndarray | None = None,
        lead_in: int = 0,
    ):
        self.lead_in = int(lead_in)
        self.data = data
        self.symbols = symbols
        self.spec = spec
        self.key_in = key_in
        self.chords_in = chords_in
        self.explain = explain
        self._chord_cache = {}
        self.n, self.n_bars, self.n_steps, self.n_pitches = data.shape

    @cached_property
    def onset(self) -> np.ndarray:
        """bool (n, bars, steps, pitches): a note starts here."""
        return self.data == 1

    @cached_property
    def sounding(self) -> np.ndarray:
        """bool (n, bars, steps, pitches): a note sounds here (onset or hold)."""
        return self.data != 0

    @cached_property
    def step_count(self) -> np.ndarray:
        """int (n, bars, steps): how many pitches sound at each step."""
        return self.sounding.view(np.uint8).sum(axis=-1, dtype=_count_dtype(self.n_pitches))

    @cached_property
    def onset_bp(self) -> np.ndarray:
        """int (n, bars, pitches): onsets per bar and pitch."""
        return self.onset.view(np.uint8).sum(axis=2, dtype=_count_dtype(self.n_steps))

    @cached_property
    def sound_bp(self) -> np.ndarray:
        """int (n, bars, pitches): sounding steps per bar and pitch."""
        return self.sounding.view(np.uint8).sum(axis=2, dtype=_count_dtype(self.n_steps))

    @cached_property
    def pitches(self) -> np.ndarray:
        """int (pitches,): the MIDI pitch of each pitch index."""
        return self.spec.lowest_pitch + np.arange(self.n_pitches, dtype=np.int64)

    @cached_property
    def pc_onehot(self) -> np.ndarray:
        """float (pitches, 12): pitch index -> pitch class."""
        m = np.zeros((self.n_pitches, 12))
        m[np.arange(self.n_pitches), self.pitches % 12] = 1.0
        return m

    @cached_property
    def pc_hist_bars_np(self) -> np.ndarray:
        """float64 (n, bars, 12): sounding steps per bar and pitch class."""
        return self.sound_bp.astype(np.float64) @ self.pc_onehot


class SoftContext(_KeyChordMixin):
    """Soft (torch) view of a batch of note-probability grids.

    Args:
        onset: float tensor (n, bars, steps, pitches) in [0, 1]: probability that a note starts here.
        sounding: float tensor of the same shape: probability that a note sounds here.
        spec, key_in, chords_in, symbols: as for :class:`GridContext`.
    """

    def __init__(
        self,
        onset,
        sounding,
        spec: GridSpec,
        key_in: np.ndarray,
        chords_in: np.ndarray | None,
        symbols: np.ndarray | None = None,
    ):
        self.symbols = symbols
        self.lead_in = 0
        self.onset = onset
        self.sounding = sounding
        self.spec = spec
        self.key_in = key_in
        self.chords_in = chords_in
        self.explain = False
        self._chord_cache = {}
        self.n, self.n_bars, self.n_steps, self.n_pitches = onset.shape

    # Reductions are matrix products (see tsum): on 0/1 inputs they are sums of whole numbers, exact.
    @cached_property
    def step_count(self):
        """float (n, bars, steps): expected number of sounding pitches per step."""
        return tsum(self.sounding, 3)

    def _per_bar(self, x):
        return tsum(x, 2)

    @cached_property
    def onset_bp(self):
        """float (n, bars, pitches): expected onsets per bar and pitch."""
        return self._per_bar(self.onset)

    @cached_property
    def sound_bp(self):
        """float (n, bars, pitches): expected sounding steps per bar and pitch."""
        return self._per_bar(self.sounding)

    @cached_property
    def pitches(self) -> np.ndarray:
        """int (pitches,): the MIDI pitch of each pitch index (numpy)."""
        return self.spec.lowest_pitch + np.arange(self.n_pitches, dtype=np.int64)

    def tensor(self, array: np.ndarray):
        """A numpy array as a tensor of the inputs' dtype and device."""
        import torch

        return torch.as_tensor(np.asarray(array, dtype=np.float64), dtype=self.onset.dtype, device=self.onset.device)

    @cached_property
    def pc_hist_bars_np(self) -> np.ndarray:
        """float64 (n, bars, 12): expected sounding steps per bar and pitch class (detached, numpy)."""
        sb = self.sound_bp.detach().to("cpu").double().numpy()
        onehot = np.zeros((self.n_pitches, 12))
        onehot[np.arange(self.n_pitches), self.pitches % 12] = 1.0
        return sb @ onehot
