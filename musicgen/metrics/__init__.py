"""Metrics over pieces: note statistics (MusPy's definitions) and the theme count.

Each metric is one small documented function taking a :class:`~musicgen.piece.Piece` (returning a
float) or a :class:`NoteBatch` of many pieces (returning one value per piece). See
:mod:`musicgen.metrics.basic` and :mod:`musicgen.metrics.themes`.
"""

from __future__ import annotations

from musicgen.metrics.basic import (
    NoteBatch,
    empty_beat_rate,
    groove_consistency,
    n_pitched_notes,
    note_density,
    notes_per_second,
    pitch_class_entropy,
    pitch_class_entropy_grids,
    pitch_class_entropy_windowed,
    pitch_class_histogram,
    pitch_range,
    polyphony,
    scale_consistency,
)
from musicgen.metrics.themes import (
    WINDOWS,
    Theme,
    ThemeAnalysis,
    ThemeParams,
    batch_theme_counts,
    find_themes,
    mirex_patterns,
    theme_count,
    theme_counts,
    themes_to_mirex,
    write_mirex,
)

__all__ = [
    "NoteBatch",
    "WINDOWS",
    "Theme",
    "ThemeAnalysis",
    "ThemeParams",
    "batch_theme_counts",
    "empty_beat_rate",
    "find_themes",
    "groove_consistency",
    "mirex_patterns",
    "n_pitched_notes",
    "note_density",
    "notes_per_second",
    "pitch_class_entropy",
    "pitch_class_entropy_grids",
    "pitch_class_entropy_windowed",
    "pitch_class_histogram",
    "pitch_range",
    "polyphony",
    "scale_consistency",
    "theme_count",
    "theme_counts",
    "themes_to_mirex",
    "write_mirex",
]
