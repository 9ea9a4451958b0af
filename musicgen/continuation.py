"""Phrase after phrase as one piece: what passes from a phrase to the next, and how a continuation is
chosen among the candidates.

A live session (``musicgen interact``) writes one short phrase at a time. For the phrases to sound
like one piece rather than a string of unrelated tunes:

* **one key per session.** The first phrase's tonic stays for the whole session. When the listener's
  valence changes sign, the music moves to the **parallel** key (same tonic, the other mode) rather than
  the relative one: the model writes in C major / C minor and every piece is transposed from there, so
  the parallel key keeps the transposition, the register and the tonic pitch that the ear has held since
  the start, and a change of mode on one tonic is the classic valence cue of music-emotion research
  (CMERS, Livingstone et al. 2010), while the relative key would move the tonic a minor third;
* **the state passes explicitly** (:class:`Continuation`): the previous phrase's bar latents (what the
  generator continues), its transposition, key, tempo, last note and bars;
* **the join is smooth**: the new phrase's first note lies within a fifth (7 semitones) of the previous
  phrase's last note. The whole phrase may move by an octave for that (the key does not change);
* **it develops, it does not copy**: fewer than half of its bars may repeat the previous phrase's bar
  rhythm *and* contour (:func:`repeat_share`);
* **cadences follow the position**: phrases alternate between an open ending (the last note a tone of
  the dominant triad, a half cadence) and a closed one (a tone of the tonic triad).

:func:`continuation_penalties` turns these into penalties that :func:`musicgen.generation.generate`
subtracts from each candidate's score, so that a candidate that keeps them all wins over one that does
not, whatever their R_F and discriminator scores (when none keeps them all, the fewest broken wins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicgen.analysis import note_starts
from musicgen.metrics.diversity import bar_contours, bar_rhythms

#: Largest interval between a phrase's last note and the next phrase's first note, semitones (a fifth).
MAX_JOIN = 7
#: A continuation repeating this share of the previous phrase's bars (rhythm and contour) or more is a copy.
MAX_REPEAT = 0.5
#: The penalty per broken constraint: larger than any difference of ``β1·R_F + β2·D`` between candidates.
PENALTY = 100.0
#: Valence closer than this to 0 keeps the mode of the previous phrase.
NEUTRAL_VALENCE = 0.1
#: The valence the generator is asked for when a near-neutral estimate keeps the previous phrase's mode:
#: where the generator's mode term asks for one pure mode (:func:`musicgen.model.losses.major_weight`),
#: with the sign of the kept mode. Near 0 the generator writes mostly major, so without it a neutral
#: stretch after a minor passage would leave no minor candidate to choose.
KEPT_MODE_VALENCE = 0.2
#: Bonus for a cadence that fits the phrase's position (below the penalty, above score noise).
CADENCE_BONUS = 1.0


@dataclass(frozen=True)
class Continuation:
    """What a phrase hands to the next one.

    Attributes:
        latents: float32 (bars, D): the phrase's bar latents in model space (the generator continues them).
        key_shift: semitones from the model's key frame (C) to the session's tonic, in the octave used.
        tonic: the session's tonic, a pitch class (0 = C).
        minor: the phrase's mode.
        valence: the valence the phrase was written for (a sign change moves to the parallel key).
        tempo: quarter notes per minute the phrase was played at.
        last_pitch: MIDI pitch of the phrase's last note (None for a silent phrase).
        cells: int8 (bars, steps, pitches): the phrase's grid (to tell a copy from a development).
        index: the phrase's position in the session (0 = first).
    """

    latents: np.ndarray
    key_shift: int
    tonic: int
    minor: bool
    valence: float
    tempo: float
    last_pitch: int | None
    cells: np.ndarray
    index: int = 0

    def wanted_minor(self, valence: float) -> bool:
        """The mode the next phrase should be in (:func:`mode_asked` after this phrase's mode)."""
        return mode_asked(self.minor, valence)

    def generator_valence(self, valence: float) -> float:
        """The valence to condition the next phrase's generator on: ``valence`` itself, unless it is
        within :data:`NEUTRAL_VALENCE` of 0 (the mode is kept), then :data:`KEPT_MODE_VALENCE` with the
        sign of this phrase's mode (:func:`musicgen.generation.generate` then asks for that valence/arousal
        point instead of the estimate's class probabilities)."""
        if abs(valence) < NEUTRAL_VALENCE:
            return -KEPT_MODE_VALENCE if self.minor else KEPT_MODE_VALENCE
        return float(valence)


def mode_for_valence(valence: float) -> bool | None:
    """Whether a clear ``valence`` asks for minor (True: negative) or major (False: positive); None for
    a valence within :data:`NEUTRAL_VALENCE` of 0, which asks for neither."""
    if abs(valence) < NEUTRAL_VALENCE:
        return None
    return valence < 0


def mode_asked(previous_minor: bool, valence: float) -> bool:
    """Whether a phrase after one in minor (``previous_minor``) should be minor: minor for a negative
    valence, major for a positive one (on the session's one tonic, so a change of sign moves to the
    parallel key); a valence within :data:`NEUTRAL_VALENCE` of 0 keeps the previous mode."""
    minor = mode_for_valence(valence)
    return bool(previous_minor) if minor is None else minor


def first_and_last_pitch(cells: np.ndarray, lowest_pitch: int) -> tuple[np.ndarray, np.ndarray]:
    """MIDI pitch of the first and of the last note start of each piece (N, bars, steps, pitches) (the
    highest when several start together); −1 for a silent piece."""
    st = note_starts(cells)
    n = st.shape[0]
    flat = st.reshape(n, -1, st.shape[-1])
    any_t = flat.any(axis=2)
    first_t = np.where(any_t.any(axis=1), any_t.argmax(axis=1), -1)
    last_t = np.where(any_t.any(axis=1), any_t.shape[1] - 1 - any_t[:, ::-1].argmax(axis=1), -1)
    top = np.where(flat, np.arange(flat.shape[2]), -1).max(axis=2)  # (N, T)
    rows = np.arange(n)
    first = np.where(first_t >= 0, top[rows, np.maximum(first_t, 0)] + lowest_pitch, -1)
    last = np.where(last_t >= 0, top[rows, np.maximum(last_t, 0)] + lowest_pitch, -1)
    return first.astype(np.int64), last.astype(np.int64)


def repeat_share(cells: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Per candidate (N,): the share of its bars whose rhythm *and* contour equal those of the previous
    phrase's bar at the same position (bars beyond the previous phrase's length compare with its last)."""
    c = np.asarray(cells)
    prev = np.asarray(previous)[None]
    r, k = bar_rhythms(c), bar_contours(c)
    pr, pk = bar_rhythms(prev)[0], bar_contours(prev)[0]
    idx = np.minimum(np.arange(c.shape[1]), pr.size - 1)
    return ((r == pr[idx]) & (k == pk[idx])).mean(axis=1)


def cadence_tones(tonic: int, minor: bool, closed: bool) -> np.ndarray:
    """Pitch classes of the triad a phrase should end on: the tonic triad for a closed (authentic)
    cadence, the dominant triad (major, with the leading tone, in minor too) for an open (half) one."""
    if closed:
        third = 3 if minor else 4
        return np.array([tonic % 12, (tonic + third) % 12, (tonic + 7) % 12])
    return np.array([(tonic + 7) % 12, (tonic + 11) % 12, (tonic + 2) % 12])


def octave_for_join(
    first: np.ndarray, last_pitch: int | None, lo: np.ndarray, hi: np.ndarray, lowest: int, highest: int
) -> np.ndarray:
    """Per candidate, the octave move (−12, 0 or +12 semitones) that keeps its span [lo, hi] inside
    [lowest, highest] and, among those, brings its first note nearest to ``last_pitch``."""
    moves = np.array([-12, 0, 12])
    out = np.zeros(len(first), np.int64)
    for i in range(len(first)):
        best, best_key = 0, None
        for m in moves:
            out_of_range = max(0, lowest - (lo[i] + m)) + max(0, hi[i] + m - highest)
            join = abs(first[i] + m - last_pitch) if (last_pitch is not None and first[i] >= 0) else 0
            key = (out_of_range, join, abs(m))
            if best_key is None or key < best_key:
                best, best_key = int(m), key
        out[i] = best
    return out


def cadence_fits(cells: np.ndarray, keys: np.ndarray, closed: bool, lowest_pitch: int) -> np.ndarray:
    """Per candidate (N,): whether its last note is a tone of the cadence triad (:func:`cadence_tones`)
    of its key ``keys`` (N, 2) of (tonic, minor)."""
    _, last = first_and_last_pitch(cells, lowest_pitch)
    ok = np.zeros(len(last), bool)
    for i, (tonic, minor) in enumerate(np.asarray(keys)):
        ok[i] = last[i] >= 0 and (last[i] % 12) in cadence_tones(int(tonic), bool(minor), closed)
    return ok


def is_closed(index: int) -> bool:
    """Whether phrase ``index`` of a session ends closed (odd phrases answer the even ones: antecedent,
    consequent)."""
    return index % 2 == 1


def continuation_penalties(
    cells: np.ndarray, minor: np.ndarray, state: Continuation, valence: float, lowest_pitch: int
) -> dict:
    """Score adjustments for candidate continuations of ``state`` (the next phrase is ``state.index + 1``).

    Args:
        cells: int8 (N, bars, steps, pitches) candidates, already in the session's key and octave.
        minor: (N,) each candidate's mode (0/1).
        state: the previous phrase.
        valence: the valence asked for now.
        lowest_pitch: MIDI pitch of pitch index 0.

    Returns:
        dict of (N,) arrays: ``adjust`` (to add to the score), and the checks ``mode_ok``, ``join``
        (semitones, −1 when undefined), ``join_ok``, ``repeat``, ``repeat_ok``, ``cadence_ok``; and
        ``want_minor`` (bool).
    """
    want_minor = state.wanted_minor(valence)
    first, _ = first_and_last_pitch(cells, lowest_pitch)
    join = np.where((first >= 0) & (state.last_pitch is not None), np.abs(first - (state.last_pitch or 0)), -1)
    rep = repeat_share(cells, state.cells)
    keys = np.stack([np.full(len(cells), state.tonic), np.full(len(cells), int(want_minor))], axis=1)
    cadence_ok = cadence_fits(cells, keys, is_closed(state.index + 1), lowest_pitch)
    mode_ok = np.asarray(minor).astype(bool) == want_minor
    join_ok = join <= MAX_JOIN
    repeat_ok = rep < MAX_REPEAT
    adjust = -PENALTY * ((~mode_ok).astype(float) + (~join_ok) + (~repeat_ok)) + CADENCE_BONUS * cadence_ok
    return {
        "adjust": adjust,
        "mode_ok": mode_ok,
        "join": join,
        "join_ok": join_ok,
        "repeat": rep,
        "repeat_ok": repeat_ok,
        "cadence_ok": cadence_ok,
        "want_minor": bool(want_minor),
    }


__all__ = [
    "CADENCE_BONUS",
    "KEPT_MODE_VALENCE",
    "MAX_JOIN",
    "MAX_REPEAT",
    "NEUTRAL_VALENCE",
    "PENALTY",
    "Continuation",
    "cadence_fits",
    "cadence_tones",
    "continuation_penalties",
    "is_closed",
    "mode_asked",
    "mode_for_valence",
    "first_and_last_pitch",
    "octave_for_join",
    "repeat_share",
]
