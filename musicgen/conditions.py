"""The 8 emotion classes, their aliases, their valence/arousal positions, and the conditioning vector.

Both ways a user gives an emotion — a label ("happy") or a live estimate — become the same
:class:`EmotionCondition`: an 8-class probability distribution plus a (valence, arousal) point in
[-1, 1]². The generator is conditioned on :meth:`EmotionCondition.vector` (10 numbers).

Class order follows the paper (AffectNet's eight expressions): Neutral, Happy, Anger, Sadness, Fear,
Surprise, Disgust, Contempt.

Valence/arousal positions: the circumplex model of affect (Russell 1980, "A circumplex model of
affect", J. Pers. Soc. Psychol. 39:1161) places these categories at roughly the angles below; the
magnitudes are this toolkit's choice (documented, not measured), close to the category means reported
for AffectNet (Mollahosseini et al. 2017, IEEE Trans. Affective Computing, Fig. 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicgen.errors import UsageError

EMOTIONS: tuple[str, ...] = ("neutral", "happy", "anger", "sadness", "fear", "surprise", "disgust", "contempt")

#: (valence, arousal) of each class, in [-1, 1]; see the module docstring for the sources.
EMOTION_VA: dict[str, tuple[float, float]] = {
    "neutral": (0.0, 0.0),
    "happy": (0.75, 0.45),
    "anger": (-0.55, 0.75),
    "sadness": (-0.70, -0.45),
    "fear": (-0.65, 0.60),
    "surprise": (0.25, 0.80),
    "disgust": (-0.65, 0.25),
    "contempt": (-0.45, 0.10),
}

ALIASES: dict[str, str] = {
    "neutral": "neutral",
    "calm": "neutral",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "joyful": "happy",
    "anger": "anger",
    "angry": "anger",
    "sadness": "sadness",
    "sad": "sadness",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "surprise": "surprise",
    "surprised": "surprise",
    "disgust": "disgust",
    "disgusted": "disgust",
    "contempt": "contempt",
    "scornful": "contempt",
    "scorn": "contempt",
}


@dataclass(frozen=True)
class EmotionCondition:
    """What the generator is conditioned on.

    Attributes:
        probabilities: 8 class probabilities in :data:`EMOTIONS` order (sum 1).
        valence: -1 (negative) .. 1 (positive).
        arousal: -1 (calm) .. 1 (excited).
    """

    probabilities: tuple[float, ...]
    valence: float
    arousal: float

    @property
    def label(self) -> str:
        """The most probable class."""
        return EMOTIONS[int(np.argmax(self.probabilities))]

    def vector(self) -> np.ndarray:
        """The conditioning vector: 8 probabilities then valence and arousal (float32, shape (10,))."""
        return np.asarray(list(self.probabilities) + [self.valence, self.arousal], dtype=np.float32)

    def as_dict(self) -> dict:
        """JSON-ready form: label, probabilities by name, valence, arousal."""
        return {
            "label": self.label,
            "probabilities": {e: float(p) for e, p in zip(EMOTIONS, self.probabilities)},
            "valence": float(self.valence),
            "arousal": float(self.arousal),
        }


def canonical_label(name: str) -> str:
    """Map a label or alias, case-insensitively, to one of :data:`EMOTIONS`.

    Raises:
        UsageError: unknown label; the message lists the valid ones.
    """
    key = str(name).strip().lower()
    if key not in ALIASES:
        raise UsageError(
            f"unknown emotion {name!r}; choose one of: {', '.join(EMOTIONS)} "
            "(aliases: happiness, angry, sad, fearful, surprised, disgusted, scornful)"
        )
    return ALIASES[key]


def from_label(name: str) -> EmotionCondition:
    """The condition for a label: a one-hot distribution at the class's valence/arousal point.

    Raises:
        UsageError: unknown label.
    """
    lab = canonical_label(name)
    probs = tuple(1.0 if e == lab else 0.0 for e in EMOTIONS)
    v, a = EMOTION_VA[lab]
    return EmotionCondition(probs, v, a)


def va_to_probabilities(valence: float, arousal: float, temperature: float = 0.15) -> np.ndarray:
    """A soft class distribution for a valence/arousal point: softmax of -squared distance / temperature.

    Raises:
        UsageError: valence or arousal outside [-1, 1] or not finite.
    """
    for name, x in (("valence", valence), ("arousal", arousal)):
        if not np.isfinite(x) or not -1.0 <= float(x) <= 1.0:
            raise UsageError(f"{name} must lie in [-1, 1], got {x}")
    centres = np.asarray([EMOTION_VA[e] for e in EMOTIONS])
    d2 = ((centres - np.asarray([valence, arousal])) ** 2).sum(axis=1)
    logits = -d2 / temperature
    p = np.exp(logits - logits.max())
    return p / p.sum()


def from_valence_arousal(valence: float, arousal: float) -> EmotionCondition:
    """The condition for a (valence, arousal) point in [-1, 1]² (see :func:`va_to_probabilities`).

    Raises:
        UsageError: a value outside [-1, 1].
    """
    p = va_to_probabilities(valence, arousal)
    return EmotionCondition(tuple(float(x) for x in p), float(valence), float(arousal))


def from_probabilities(probabilities, valence: float | None = None, arousal: float | None = None) -> EmotionCondition:
    """The condition for an 8-class distribution (e.g. a live estimate).

    When valence/arousal are not given they are the probability-weighted class positions.

    Raises:
        UsageError: not 8 finite non-negative numbers with a positive sum.
    """
    p = np.asarray(probabilities, dtype=float).ravel()
    if p.size != len(EMOTIONS) or not np.all(np.isfinite(p)) or p.min() < 0 or p.sum() <= 0:
        raise UsageError(f"expected {len(EMOTIONS)} non-negative probabilities, got {probabilities!r}")
    p = p / p.sum()
    centres = np.asarray([EMOTION_VA[e] for e in EMOTIONS])
    v, a = (p[:, None] * centres).sum(axis=0)
    v = float(v if valence is None else valence)
    a = float(a if arousal is None else arousal)
    return EmotionCondition(tuple(float(x) for x in p), float(np.clip(v, -1, 1)), float(np.clip(a, -1, 1)))
