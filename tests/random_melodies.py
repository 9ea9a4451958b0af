"""Random melodies the theme finder is calibrated on (used by tests/test_themes.py and
benchmarks/bench_themes.py; not part of the package)."""

from __future__ import annotations

import numpy as np

_DIATONIC = np.array([0, 2, 4, 5, 7, 9, 11])


def random_diatonic_phrase(
    rng: np.random.Generator, bars: int = 4, durations=(0.25, 0.5, 0.5, 1.0), bar_qn: float = 4.0
) -> list[tuple[float, float, int]]:
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
