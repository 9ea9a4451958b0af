"""Keys, chords and strong beats for the rules engine (numpy, vectorised over candidates and bars).

Key estimation (when a piece or candidate carries no key)
---------------------------------------------------------
Krumhansl–Schmuckler (:func:`musicgen.analysis.estimate_keys`): the duration-weighted pitch-class
histogram of the whole candidate (how many grid steps each pitch class sounds, summed over pitches and
bars) is correlated (Pearson) with the 24 rotations of the Krumhansl–Kessler major and minor key
profiles; the best correlation wins.
Correlations equal to 9 decimals are ties; ties and silent candidates go to the first key in the order
C major, C# major, ..., B major, C minor, ..., B minor. (A histogram with a symmetry, e.g. two notes a
tritone apart, fits two keys equally well; the order then decides, so such candidates are the only
ones whose estimated key does not move with a transposition.)

Chord estimation (when no chord symbol is in effect)
----------------------------------------------------
Per bar, the candidate triads are the diatonic triads of the key, in this order of preference (used to
break ties): major keys ``I V IV vi ii iii vii°``; minor keys ``i V iv VI III VII v ii°`` (V is the
major dominant of harmonic minor, v the natural-minor one). The chosen triad is the one whose three pitch
classes sound longest in the bar (sum of grid steps over the pitches of those classes). A silent bar gets
the tonic triad. The fit looks at the whole bar, not only at the strong beats, so that the strong-beat
rule is not trivially satisfied.

Chord symbols
-------------
:attr:`musicgen.piece.Piece.chords` holds (onset qn, root pc, quality). At a strong beat the chord in
effect is the last symbol whose onset is at or before the beat; before the first symbol, no symbol is in
effect and the bar's chord is estimated.

Strong beats
------------
Beats are counted 1-based in the unit of the meter's denominator (quarters in x/4, eighths in x/8,
halves in x/2). :data:`DEFAULT_STRONG_BEATS` says which count as strong; a rule file may override the
table. Meters not in the table have only beat 1 (the downbeat) as a strong beat.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from musicgen.analysis import estimate_keys  # noqa: F401  (re-exported: part of the rules API)
from musicgen.piece import PITCH_NAMES

#: Triad quality codes, as in :attr:`musicgen.piece.Piece.chords`.
MAJOR, MINOR, DIMINISHED, AUGMENTED = 0, 1, 2, 3
QUALITY_NAMES = ("major", "minor", "diminished", "augmented")
#: Intervals above the root of each quality (index = quality code).
TRIAD_INTERVALS = np.array([[0, 4, 7], [0, 3, 7], [0, 3, 6], [0, 4, 8]], dtype=np.int64)

#: Strong beats per meter, 1-based, in units of the denominator.
#: 4/4 and 12/8 (and 2/2, 6/8 and 6/4 alike): the first and the middle beat of the bar (beats 1 and 3 of
#: 4/4, the two dotted-quarter pulses 1 and 4 of 6/8). Triple and simple-duple meters: the downbeat only.
DEFAULT_STRONG_BEATS: dict[str, tuple[int, ...]] = {
    "4/4": (1, 3),
    "2/2": (1, 2),
    "3/4": (1,),
    "2/4": (1,),
    "3/8": (1,),
    "6/8": (1, 4),
    "9/8": (1,),
    "12/8": (1, 7),
    "6/4": (1, 4),
    "3/2": (1,),
}

# Diatonic triads as (root offset from the tonic, quality), in order of preference.
_MAJOR_TRIADS = ((0, MAJOR), (7, MAJOR), (5, MAJOR), (9, MINOR), (2, MINOR), (4, MINOR), (11, DIMINISHED))
_MINOR_TRIADS = ((0, MINOR), (7, MAJOR), (5, MINOR), (8, MAJOR), (3, MAJOR), (10, MAJOR), (7, MINOR), (2, DIMINISHED))
_N_CAND = 8
# (2 modes, 8 candidates, 2): major padded with a repeat of I (argmax keeps the first, so it is never chosen)
_CANDIDATES = np.array([list(_MAJOR_TRIADS) + [_MAJOR_TRIADS[0]], list(_MINOR_TRIADS)], dtype=np.int64)

SCALE_STEPS = np.array([[0, 2, 4, 5, 7, 9, 11], [0, 2, 3, 5, 7, 8, 10]], dtype=np.int64)


def chord_name(root: int, quality: int) -> str:
    """Name a triad in words, e.g. (0, 0) -> "C major", (9, 1) -> "A minor"."""
    return f"{PITCH_NAMES[int(root) % 12]} {QUALITY_NAMES[int(quality)]}"


def chord_tone_names(root: int, quality: int) -> str:
    """The triad's tones joined by dashes, e.g. (0, 0) -> "C–E–G"."""
    return "–".join(PITCH_NAMES[(int(root) + int(i)) % 12] for i in TRIAD_INTERVALS[int(quality)])


def diatonic_candidates(keys: np.ndarray) -> np.ndarray:
    """The candidate triads of each key, in order of preference.

    Args:
        keys: int array (N, 2) of (tonic, mode).

    Returns:
        int array (N, 8, 2) of (root pc, quality).
    """
    keys = np.asarray(keys, dtype=np.int64).reshape(-1, 2)
    cand = _CANDIDATES[keys[:, 1]].copy()  # (N, 8, 2)
    cand[..., 0] = (cand[..., 0] + keys[:, None, 0]) % 12
    return cand


def chord_tone_mask(chords: np.ndarray) -> np.ndarray:
    """Pitch-class membership of triads.

    Args:
        chords: int array (..., 2) of (root pc, quality); a root below 0 means "no chord".

    Returns:
        bool array (..., 12): True for the pitch classes of each triad (all False for "no chord").
    """
    chords = np.asarray(chords, dtype=np.int64)
    root = chords[..., 0]
    tones = (root[..., None] + TRIAD_INTERVALS[np.clip(chords[..., 1], 0, 3)]) % 12  # (..., 3)
    mask = np.zeros(chords.shape[:-1] + (12,), dtype=bool)
    np.put_along_axis(mask, tones, True, axis=-1)
    mask &= (root >= 0)[..., None]
    return mask


def estimate_bar_chords(pc_hist_bars: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Estimate one diatonic triad per bar.

    Args:
        pc_hist_bars: float array (N, bars, 12): how long each pitch class sounds in each bar.
        keys: int array (N, 2) of (tonic, mode).

    Returns:
        int array (N, bars, 2) of (root pc, quality): the best-fitting diatonic triad (see the module
        docstring for the fit and the tie order).
    """
    h = np.asarray(pc_hist_bars, dtype=np.float64)
    cand = diatonic_candidates(keys)  # (N, 8, 2)
    masks = chord_tone_mask(cand).astype(np.float64)  # (N, 8, 12)
    fit = np.einsum("nbc,nkc->nbk", h, masks)
    best = np.argmax(fit, axis=-1)  # first maximum = preferred triad
    return np.take_along_axis(cand[:, None, :, :], best[..., None, None], axis=2)[:, :, 0, :]


def scale_mask(keys: np.ndarray) -> np.ndarray:
    """bool array (N, 12): the pitch classes of each key's scale (natural minor for minor keys)."""
    keys = np.asarray(keys, dtype=np.int64).reshape(-1, 2)
    pcs = (SCALE_STEPS[keys[:, 1]] + keys[:, :1]) % 12
    mask = np.zeros((keys.shape[0], 12), dtype=bool)
    np.put_along_axis(mask, pcs, True, axis=-1)
    return mask


def strong_beat_steps(
    numerator: int, denominator: int, steps_per_quarter: int, table: dict[str, tuple[int, ...]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The strong beats of a meter as grid step indices within a bar.

    Args:
        numerator, denominator: the meter.
        steps_per_quarter: grid resolution.
        table: meter ("num/den") -> strong beats (1-based, in denominator units); default
            :data:`DEFAULT_STRONG_BEATS`. Meters not in the table use beat 1 only.

    Returns:
        (steps, beats): int array of step indices within the bar, and the matching 1-based beat numbers.

    Raises:
        ValueError: a strong beat that does not fall on a grid step or lies outside the bar.
    """
    table = DEFAULT_STRONG_BEATS if table is None else table
    beats = tuple(table.get(f"{numerator}/{denominator}", (1,)))
    steps = []
    bar_steps = Fraction(numerator * 4, denominator) * steps_per_quarter
    for b in beats:
        s = Fraction(int(b) - 1) * Fraction(4, denominator) * steps_per_quarter
        if s.denominator != 1 or s < 0 or s >= bar_steps:
            raise ValueError(f"strong beat {b} of {numerator}/{denominator} is not a grid step inside the bar")
        steps.append(int(s))
    return np.asarray(steps, dtype=np.int64), np.asarray(beats, dtype=np.int64)


def chords_from_symbols(
    symbols: np.ndarray, n_bars: int, bar_quarters: float, strong_beats_qn: np.ndarray
) -> np.ndarray:
    """The chord symbol in effect at each strong beat of each bar.

    Args:
        symbols: float array (n, 3) of (onset qn, root pc, quality), as :attr:`Piece.chords`.
        n_bars: number of bars.
        bar_quarters: bar length in quarter notes.
        strong_beats_qn: float array (K,): positions of the strong beats within a bar, in quarter notes.

    Returns:
        int array (n_bars, K, 2) of (root pc, quality); root -1 where no symbol is in effect yet.
    """
    sym = np.asarray(symbols, dtype=np.float64).reshape(-1, 3)
    t = np.arange(n_bars)[:, None] * bar_quarters + np.asarray(strong_beats_qn, dtype=np.float64)[None, :]
    out = np.full(t.shape + (2,), -1, dtype=np.int64)
    if sym.shape[0] == 0 or n_bars == 0:
        return out
    order = np.argsort(sym[:, 0], kind="stable")
    sym = sym[order]
    idx = np.searchsorted(sym[:, 0], t + 1e-9, side="right") - 1
    ok = idx >= 0
    out[ok, 0] = sym[idx[ok], 1].astype(np.int64) % 12
    out[ok, 1] = sym[idx[ok], 2].astype(np.int64)
    return out
