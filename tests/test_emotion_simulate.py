"""The simulated face: expressivity scales how far a felt emotion moves the face from neutral, not the neutral face."""

from __future__ import annotations

import dataclasses

import numpy as np

from musicgen.conditions import EMOTIONS
from musicgen.emotion.contract import FACE_CHANNELS
from musicgen.emotion.simulate import SubjectProfile, simulate_recording


def _face_means(emotion: str, expressivity: float, intensity: float = 1.0) -> np.ndarray:
    """Mean probability of each expression over 60 s of one unbiased face, averaged over 4 seeds."""
    person = dataclasses.replace(
        SubjectProfile.random(0, 0), expressivity=expressivity, face_bias=(0.0,) * len(EMOTIONS)
    )
    runs = []
    for seed in range(4):
        rec = simulate_recording(emotion, 60, person, seed, intensity=intensity, cardiac="none", channels=("face",))
        runs.append([rec.signals[c][1].mean() for c in FACE_CHANNELS])
    return np.mean(runs, axis=0)


def test_a_face_that_shows_nothing_reads_neutral_whatever_the_expressivity():
    neutral = EMOTIONS.index("neutral")
    flat, lively = _face_means("neutral", 0.15)[neutral], _face_means("neutral", 1.0)[neutral]
    rest = _face_means("neutral", 0.6, intensity=0.0)[neutral]
    assert flat > 0.5 and lively > 0.5 and rest > 0.5
    # the same face at rest for everyone: only the noise differs
    assert abs(flat - lively) < 0.05 and abs(flat - rest) < 0.05


def test_expressivity_scales_how_far_a_felt_emotion_moves_the_face():
    sad, neutral = EMOTIONS.index("sadness"), EMOTIONS.index("neutral")
    flat, lively = _face_means("sadness", 0.15), _face_means("sadness", 1.0)
    assert lively[sad] > 3 * flat[sad]
    assert lively[sad] > lively[neutral] * 0.5
    # an inexpressive person feeling sad still looks mostly neutral
    assert flat[neutral] > 0.5 and flat[neutral] > lively[neutral]
