"""Shared music analysis on bar grids: pitch-class histograms and Krumhansl–Schmuckler key estimation
(note starts come from :func:`musicgen.grid.note_starts`, re-exported here).

One place for what several parts of the toolkit read off music (the rules engine's chord estimate, the
model's training losses and sampling, the rendering, the metrics), so that they all agree.

Key estimation (Krumhansl–Schmuckler): the Pearson correlation of a duration-weighted pitch-class
histogram with the 24 rotations of the Krumhansl–Kessler (1982) probe-tone profiles for major and minor
keys; the best correlation wins. :func:`key_profiles` holds the 24 standardised profiles (rows 0..11
major keys on C..B, rows 12..23 minor keys), so a histogram standardised the same way gives all 24
correlations in one matrix product (:func:`key_correlations`), in numpy or torch alike.
"""

from __future__ import annotations

import numpy as np

from musicgen.grid import SILENT, note_starts

#: Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
#: Bellman–Budge profiles (H. Bellman 2005, "About the determination of key of a musical excerpt", from
#: chord statistics of tonal music), tonic first. Its minor profile has the harmonic minor's leading tone.
BB_MAJOR = np.array([16.80, 0.86, 12.95, 1.41, 13.49, 11.93, 1.25, 20.28, 1.80, 8.04, 0.62, 10.57])
BB_MINOR = np.array([18.16, 0.69, 12.99, 13.34, 1.07, 11.15, 1.38, 21.07, 7.49, 1.53, 0.92, 10.21])
PROFILE_SETS = {"kk": (KK_MAJOR, KK_MINOR), "bb": (BB_MAJOR, BB_MINOR)}


def key_profiles(kind: str = "kk") -> np.ndarray:
    """(24, 12) float64 standardised key profiles (zero mean, unit norm): rows 0..11 are the major
    keys on C..B, rows 12..23 the minor keys. ``kind``: "kk" (Krumhansl–Kessler, what
    :func:`estimate_keys` uses) or "bb" (Bellman–Budge).

    Raises:
        KeyError: another ``kind``.
    """
    major, minor = PROFILE_SETS[kind]
    rows = [np.roll(major, t) for t in range(12)] + [np.roll(minor, t) for t in range(12)]
    prof = np.asarray(rows)
    prof = prof - prof.mean(axis=1, keepdims=True)
    return prof / np.linalg.norm(prof, axis=1, keepdims=True)


_PROFILES = key_profiles()


def pitch_class_histograms(cells: np.ndarray, lowest_pitch: int, weight: str = "duration") -> np.ndarray:
    """Pitch-class histograms (N, 12) of pieces ``cells`` (N, ..., pitches) of 0/1/2.

    Args:
        cells: the grids; pitch index ``i`` is MIDI ``lowest_pitch + i``.
        lowest_pitch: MIDI pitch of index 0.
        weight: "duration" (sounding steps per pitch class, what key finding uses) or "onset"
            (note starts, what MusPy's pitch-class entropy counts).

    Raises:
        ValueError: another ``weight``.
    """
    c = np.asarray(cells)
    n = c.shape[0]
    if weight == "duration":
        per_pitch = (c != SILENT).reshape(n, -1, c.shape[-1]).sum(axis=1)
    elif weight == "onset":
        per_pitch = note_starts(c).reshape(n, -1, c.shape[-1]).sum(axis=1)
    else:
        raise ValueError(f"weight must be 'duration' or 'onset', got {weight!r}")
    pcs = (np.arange(c.shape[-1]) + int(lowest_pitch)) % 12
    hist = np.zeros((n, 12))
    np.add.at(hist.T, pcs, per_pitch.T.astype(np.float64))
    return hist


def key_correlations(pc_hist: np.ndarray) -> np.ndarray:
    """Correlations (N, 24) of pitch-class histograms (N, 12) with the 24 key profiles
    (:func:`key_profiles` order); a silent histogram correlates 0 with every key."""
    h = np.asarray(pc_hist, dtype=np.float64)
    hc = h - h.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(hc, axis=-1, keepdims=True)
    hc = np.divide(hc, norm, out=np.zeros_like(hc), where=norm > 0)
    return hc @ _PROFILES.T


def estimate_keys(pc_hist: np.ndarray) -> np.ndarray:
    """Estimate one key per histogram (Krumhansl–Schmuckler).

    Args:
        pc_hist: float array (N, 12): how long (any unit) each pitch class sounds.

    Returns:
        int array (N, 2): (tonic pitch class, mode) with mode 0 major, 1 minor. A silent histogram
        gets C major.
    """
    # correlations equal to 9 decimals are ties (so that rounding noise cannot pick between, e.g., the
    # two keys a tritone apart that fit a tritone equally); ties go to the first key in the order
    corr = np.round(key_correlations(pc_hist), 9)
    idx = np.argmax(corr, axis=-1)  # flat histogram: all 0 -> index 0 (C major)
    return np.stack([idx % 12, idx // 12], axis=-1).astype(np.int64)


def mode_in_key_frame(pc_hist: np.ndarray, tonic: int = 0) -> np.ndarray:
    """For music known to be on ``tonic`` (e.g. a key-normalised model's output, on C): 1 where the
    histogram correlates better with the minor profile on that tonic than with the major one, else 0.
    int64 (N,)."""
    corr = key_correlations(pc_hist)
    return (corr[:, 12 + int(tonic) % 12] > corr[:, int(tonic) % 12]).astype(np.int64)


__all__ = [
    "BB_MAJOR",
    "BB_MINOR",
    "KK_MAJOR",
    "KK_MINOR",
    "PROFILE_SETS",
    "estimate_keys",
    "key_correlations",
    "key_profiles",
    "mode_in_key_frame",
    "note_starts",
    "pitch_class_histograms",
]
