"""The theme finder's melody and bar similarity (steps 1-3 of :mod:`musicgen.metrics.themes`).

* :func:`melody_on_bars`: the melody notes of every piece of a batch (the skyline, or every pitched
  note), each placed in a bar of the piece's first meter and at a step of the onset grid in it.
* :func:`similar_bar_pairs`: every pair of bars of one piece that are similar under some
  transposition, for all pieces of the batch at once, as one sparse matrix product (scipy's
  compiled CSR kernels).

The definitions (skyline, early downbeats, the match count and the similarity threshold) are in the
docstring of :mod:`musicgen.metrics.themes`; the selection of themes from these pairs is
:mod:`musicgen.metrics.theme_selection`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from musicgen.metrics.basic import NoteBatch, _changes, _pitched_notes

__all__ = ["Melody", "SimilarBars", "melody_on_bars", "similar_bar_pairs"]


@dataclass
class Melody:
    """Melody notes of a batch with their bars (first meter) and grid steps within the bar.

    Attributes:
        piece: int64 (M,), the piece index of each melody note (notes sorted by piece, then onset).
        onset: int64 (M,), onsets in ticks.
        pitch: int64 (M,), MIDI pitches.
        bar: int64 (M,), the bar of each note within its piece (0-based).
        slot: int64 (M,), the grid step of the onset within its bar, plus ``delta_steps`` (so >= 0).
        n_bars: int64 (P,), bars of each piece, up to the bar of its last melody onset.
        bar_off: int64 (P+1,), the first bar of each piece in the batch's global bar numbering.
        bar_notes: int64 (total bars,), melody notes in each global bar.
        starts: int64, the index of the first melody note of each piece that has one.
    """

    piece: np.ndarray
    onset: np.ndarray
    pitch: np.ndarray
    bar: np.ndarray
    slot: np.ndarray
    n_bars: np.ndarray
    bar_off: np.ndarray
    bar_notes: np.ndarray
    starts: np.ndarray


class SimilarBars(NamedTuple):
    """Pairs of similar bars: bars ``bar`` and ``bar + offset`` (offset > 0) of piece ``piece`` are
    similar when the later one is the earlier one moved by ``transposition`` semitones (int64 arrays)."""

    piece: np.ndarray
    bar: np.ndarray
    offset: np.ndarray
    transposition: np.ndarray


# ---------------------------------------------------------------------------------------- melody and bars


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
    if last.size == piece.size:  # one note per onset (a melody): each onset is its own note
        ends = end
    else:
        piece, pitch, onset = piece[last], pitch[last], onset[last]
        # the longest of the notes starting at that onset decides how long the onset "sounds"
        ends = np.maximum.reduceat(end, np.concatenate(([0], last[:-1] + 1))) if last.size else end[:0]
    res = b.resolution[piece]
    s_on = np.rint(onset * spq / res).astype(np.int64)
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
    # a query (an onset inside an earlier note) is hidden when an onset group of its piece sounds at
    # its step (from the group's own step + 1 to its end step - 1) with a higher pitch: pair every
    # group with the queries in its span (queries are sorted by piece and step)
    query = off[inside] + s_on[inside]
    first = np.searchsorted(query, off + s_on + 1, side="left")
    stop = np.searchsorted(query, off + s_end - 1, side="right")
    n_pairs = np.maximum(stop - first, 0)
    group = np.repeat(np.arange(last.size), n_pairs)
    covered = np.repeat(first, n_pairs) + (np.arange(group.size) - np.repeat(np.cumsum(n_pairs) - n_pairs, n_pairs))
    hidden_query = np.zeros(inside.size, dtype=bool)
    hidden_query[covered[pitch[group] > pitch[inside][covered]]] = True
    hidden = np.zeros(last.size, dtype=bool)
    hidden[inside] = hidden_query
    return last[~hidden]


def _per_note_of(piece: np.ndarray, values: np.ndarray):
    """``values[piece]``, or the one value when all pieces share it (a scalar)."""
    if values.size and (values == values[0]).all():
        return values[0]
    return values[piece]


def _order_by_piece_onset_pitch(piece: np.ndarray, onset: np.ndarray, pitch: np.ndarray, n_pieces: int) -> np.ndarray:
    """The stable permutation that sorts notes by (piece, onset, pitch): one packed integer key per
    note when the three fit in 63 bits (a stable sort of it merges the tracks' sorted runs), else
    :func:`numpy.lexsort`."""
    piece_bits = max(int(n_pieces), 1).bit_length()
    onset_bits = int(onset.max()).bit_length() if onset.min() >= 0 else 64
    if pitch.min() >= 0 and pitch.max() < 128 and piece_bits + onset_bits + 7 <= 63:
        key = piece << (onset_bits + 7)
        key |= onset << 7
        key |= pitch
        return key.argsort(kind="stable")
    return np.lexsort((pitch, onset, piece))


def melody_on_bars(b: NoteBatch, steps_per_quarter: int, delta_steps: int, melody: str = "skyline") -> Melody:
    """The melody of every piece of ``b`` on the bar grid (steps 1-2 of the theme finder).

    Args:
        b: the pieces.
        steps_per_quarter: onsets are rounded to this grid.
        delta_steps: onset tolerance in grid steps; a note at most this many steps before a barline
            belongs to the next bar (an early downbeat).
        melody: "skyline" (the highest note at each onset, unless a higher earlier note still
            sounds) or "all" (every pitched note).
    """
    piece, onset, end, pitch = _pitched_notes(b)
    if onset.size:
        # readers sort each piece by (onset, track, pitch): one track is already in (onset, pitch) order
        same = (piece[1:] == piece[:-1]) & (onset[1:] == onset[:-1])
        in_order = not (
            ((piece[1:] == piece[:-1]) & (onset[1:] < onset[:-1])).any() or (same & (pitch[1:] < pitch[:-1])).any()
        )
        if not in_order:
            order = _order_by_piece_onset_pitch(piece, onset, pitch, b.n_pieces)
            piece, onset, pitch, end = piece[order], onset[order], pitch[order], end[order]
        if melody == "skyline":
            top = _skyline(b, piece, onset, pitch, end, steps_per_quarter)
            piece, onset, pitch = piece[top], onset[top], pitch[top]
    spq, tol = steps_per_quarter, delta_steps
    res = _per_note_of(piece, b.resolution)
    step = np.rint(onset * spq / res)
    steps_per_bar = _per_note_of(piece, b.bar_ticks * spq / b.resolution)  # float for odd meters
    # a note up to ``delta_steps`` before a barline (an early downbeat) belongs to the next bar
    bar = np.floor((step + tol) / steps_per_bar + 1e-9).astype(np.int64)
    slot = np.rint(step - bar * steps_per_bar).astype(np.int64) + tol
    n_bars = np.zeros(b.n_pieces, dtype=np.int64)
    starts = np.flatnonzero(_changes(piece))
    if bar.size:
        n_bars[piece[starts]] = np.maximum.reduceat(bar, starts) + 1
    bar_off = np.zeros(b.n_pieces + 1, dtype=np.int64)
    np.cumsum(n_bars, out=bar_off[1:])
    bar_notes = np.bincount(bar_off[piece] + bar, minlength=int(bar_off[-1]))
    return Melody(piece, onset, pitch, bar, slot, n_bars, bar_off, bar_notes, starts)


# ---------------------------------------------------------------------------------------- similarity


def similar_bar_pairs(mel: Melody, theta: float, delta_steps: int, max_transposition: int) -> SimilarBars:
    """Every pair of bars of one piece that are similar under a transposition (step 3 of the finder).

    Bars i and j are similar under t (``|t| <= max_transposition``) when ``min(matches, notes in i,
    notes in j) >= theta * max(notes in i, notes in j)``, a match being a note of i and a note of j
    at most ``delta_steps`` grid steps apart with j's pitch = i's pitch + t.

    Counting is one sparse matrix product (compiled, scipy's CSR kernels): notes become features
    (piece, slot, pitch); the earlier-side notes are widened by ``delta_steps`` slots either way; the
    later side holds every bar once per transposition 0..max_transposition, so the product gives, for
    every ordered pair of bars, the number of note pairs that match (both triangles give +t and -t).
    """
    z = np.zeros(0, dtype=np.int64)
    n_notes = mel.piece.size
    if n_notes == 0:
        return SimilarBars(z, z, z, z)
    tol, n_t = delta_steps, max_transposition + 1
    width = 2 * tol + 1
    n_bars_all = int(mel.bar_off[-1])
    # features (piece, slot, pitch) in one block per piece, sized to that piece's slots and pitches
    # (padded by max_transposition pitches, so a transposed note never leaves its piece's block)
    starts = mel.starts
    notes_per_piece = np.diff(np.append(starts, n_notes))
    low_pitch = np.minimum.reduceat(mel.pitch, starts)
    pitch_span = np.maximum.reduceat(mel.pitch, starts) - low_pitch + n_t
    block_size = (np.maximum.reduceat(mel.slot, starts) + width) * pitch_span
    block_base = np.cumsum(block_size) - block_size
    n_features = int(block_base[-1] + block_size[-1])
    span_of_note = np.repeat(pitch_span, notes_per_piece)
    feature = np.repeat(block_base - low_pitch, notes_per_piece) + (mel.slot + tol) * span_of_note + mel.pitch
    counts = mel.bar_notes
    n_rows = n_t * n_bars_all
    # an entry (t, r) x q exists only for bars r and q of one piece
    bound = n_t * int(np.dot(mel.n_bars, mel.n_bars))
    it = (
        np.int32 if max(n_features, n_notes * n_t, n_notes * width, n_rows, bound) < 2**31 - 1 else np.int64
    )  # index type
    feature_i = feature.astype(it)
    # rows (t, bar) of the later side: the bar's notes moved up t semitones, t = 0..tmax, in one matrix
    # (notes are in bar order)
    later_ptr = _scratch("a_p", n_rows + 1, it)
    later_ptr[0] = 0
    np.cumsum(np.tile(counts, n_t), out=later_ptr[1:], dtype=it)
    later_col = _scratch("a_j", n_t * n_notes, it)
    np.add(feature_i[None, :], np.arange(n_t, dtype=it)[:, None], out=later_col.reshape(n_t, n_notes))
    # the earlier side, widened by +-tol slots, each entry scaled by 1 / (notes in its bar): a product
    # entry is then matches / n_q, and sim >= theta needs it >= theta -- a cheap first filter
    earlier_col = np.empty((n_notes, width), dtype=it)
    span_i = span_of_note.astype(it)
    for k in range(width):  # (one column per slot offset: numpy broadcasts a short last axis slowly)
        np.add(feature_i, (k - tol) * span_i, out=earlier_col[:, k])
    earlier_col = earlier_col.ravel()
    earlier_val = np.repeat((1.0 / np.maximum(counts, 1)).astype(np.float32), counts * width)
    earlier_ptr = np.zeros(n_bars_all + 1, dtype=it)
    np.cumsum(counts * width, out=earlier_ptr[1:], dtype=it)
    c_ptr, c_col, c_val = _product_by_transpose(
        n_rows,
        n_bars_all,
        n_features,
        later_ptr,
        later_col,
        _ones32(later_col.size),
        earlier_ptr,
        earlier_col,
        earlier_val,
        bound,
    )
    # c[t * nb + r, q]: share of bar q's notes met by bar r's notes moved up t semitones
    cand = np.flatnonzero(c_val >= theta - 1e-6)
    row = np.searchsorted(c_ptr, cand, side="right") - 1
    t_up, r = np.divmod(row, n_bars_all)
    q = c_col[cand].astype(np.int64)
    nr, nq = counts[r], counts[q]
    matches = np.rint(c_val[cand] * nq)
    ok = np.minimum(matches, np.minimum(nr, nq)) >= theta * np.maximum(nr, nq) - 1e-9
    ok &= np.where(t_up == 0, r < q, r != q)
    r, q, t_up = r[ok], q[ok], t_up[ok]
    forward = r < q
    first, second = np.where(forward, r, q), np.where(forward, q, r)
    transposition = np.where(forward, t_up, -t_up)
    piece = np.repeat(np.arange(mel.n_bars.size), mel.n_bars)[first]
    return SimilarBars(piece, first - mel.bar_off[piece], second - first, transposition.astype(np.int64))


# ---------------------------------------------------------------------------------------- sparse product


_local = threading.local()

#: Largest product (entries) computed with outputs sized by the cheap bound (see _product_by_transpose).
_DIRECT_MAX = 1 << 23


def _sparsetools():
    """scipy's compiled module of CSR kernels, loaded from its file without importing the
    ``scipy.sparse`` package around it (that import costs ~0.2 s, more than ``musicgen evaluate``
    spends on a thousand files); the ordinary import when scipy is laid out otherwise."""
    import importlib.machinery
    import importlib.util
    import sys

    name = "scipy.sparse._sparsetools"
    if name in sys.modules:
        return sys.modules[name]
    try:
        spec = importlib.util.find_spec("scipy")  # finds the package without running it
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("scipy")
        folder = os.path.join(list(spec.submodule_search_locations)[0], "sparse")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "_sparsetools" + suffix)
            if os.path.isfile(path):
                loader = importlib.machinery.ExtensionFileLoader(name, path)
                module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
                loader.exec_module(module)
                return module
    except (ImportError, OSError):  # pragma: no cover - fall back to the package import
        pass
    return importlib.import_module(name)


def _kernels():
    """scipy's compiled CSR kernels (csr_matmat, csr_tocsc), or None where this scipy lacks them."""
    k = getattr(_local, "kernels", False)
    if k is False:
        try:
            tools = _sparsetools()
            k = (tools.csr_matmat, tools.csr_tocsc)
        except (ImportError, AttributeError):  # pragma: no cover - a scipy that moved them
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
