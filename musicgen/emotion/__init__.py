"""Emotions from signals: the live estimator, its sources and its evaluation. The labels and the conditioning vector live in :mod:`musicgen.conditions` (re-exported here)."""

from __future__ import annotations

from musicgen.conditions import (
    EMOTION_VA,
    EMOTIONS,
    EmotionCondition,
    canonical_label,
    from_label,
    from_probabilities,
    from_valence_arousal,
)

__all__ = [
    "EMOTIONS",
    "EMOTION_VA",
    "EmotionCondition",
    "canonical_label",
    "from_label",
    "from_probabilities",
    "from_valence_arousal",
]
