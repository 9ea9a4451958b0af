"""Emotions: labels and conditioning (:mod:`.labels`); live estimation from signals lives beside it."""

from __future__ import annotations

from musicgen.emotion.labels import (
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
