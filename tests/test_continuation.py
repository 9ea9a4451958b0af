"""Phrase-to-phrase continuation: one key per session, smooth joins, development rather than copies,
cadences by position (musicgen.continuation and generate(continuation=...))."""

from __future__ import annotations

import numpy as np
import pytest

from musicgen.continuation import (
    PENALTY,
    Continuation,
    cadence_tones,
    continuation_penalties,
    first_and_last_pitch,
    is_closed,
    octave_for_join,
    repeat_share,
)


def _phrase(pitches, bars=4, lowest=48):
    """Cells (bars, 16, 60) of eighth notes on the given MIDI pitches."""
    c = np.zeros((bars * 16, 60), np.int8)
    for i, p in enumerate(pitches[: bars * 8]):
        c[2 * i, p - lowest] = 1
        c[2 * i + 1, p - lowest] = 2
    return c.reshape(bars, 16, 60)


def _state(cells, last_pitch, minor=False, valence=0.5, index=0):
    return Continuation(np.zeros((4, 64), np.float32), 7, 7, minor, valence, 120.0, last_pitch, cells, index)


def test_first_and_last_pitch():
    c = np.stack([_phrase([67, 69, 71, 72] * 8), np.zeros((4, 16, 60), np.int8)])
    first, last = first_and_last_pitch(c, 48)
    assert first.tolist() == [67, -1] and last.tolist() == [72, -1]


def test_repeat_share_sees_copies_not_transpositions_of_rhythm_only():
    a = _phrase([67, 69, 71, 72] * 8)
    same_up = _phrase([72, 74, 76, 77] * 8)  # same rhythm and contour, a fourth higher: a copy
    other = _phrase([67, 67, 65, 64] * 8)  # same rhythm, other contour
    r = repeat_share(np.stack([a, same_up, other]), a)
    assert r.tolist() == [1.0, 1.0, 0.0]


def test_wanted_mode_follows_the_valence_sign_only():
    s = _state(_phrase([67] * 32), 67, minor=False, valence=0.6)
    assert s.wanted_minor(0.4) is False and s.wanted_minor(-0.3) is True
    assert s.wanted_minor(0.05) is False  # near zero: keep
    m = _state(_phrase([67] * 32), 67, minor=True, valence=-0.6)
    assert m.wanted_minor(-0.05) is True and m.wanted_minor(0.5) is False


def test_penalties_rank_a_good_continuation_first():
    prev = _phrase([67, 69, 71, 72] * 8)
    s = _state(prev, last_pitch=72, index=0)  # the next phrase (1) ends closed: tonic triad of G
    good = _phrase([74, 72, 71, 69, 67, 66, 67, 69] * 3 + [71, 69, 67, 69, 71, 69, 66, 67])  # ends on G
    leap = _phrase([86, 84, 83, 81, 79, 78, 79, 81] * 3 + [83, 81, 79, 81, 83, 81, 78, 79])  # starts an octave+ away
    copy = prev.copy()
    out = continuation_penalties(np.stack([good, leap, copy]), np.array([0, 0, 0]), s, 0.5, 48)
    assert out["join_ok"].tolist() == [True, False, True]
    assert out["repeat_ok"].tolist() == [True, True, False]
    assert out["cadence_ok"][0]
    assert int(np.argmax(out["adjust"])) == 0 and out["adjust"][1] <= -PENALTY + 1 and out["adjust"][2] <= -PENALTY + 1
    wrong_mode = continuation_penalties(good[None], np.array([1]), s, 0.5, 48)
    assert not wrong_mode["mode_ok"][0]


def test_cadences_alternate_and_name_the_right_triads():
    assert [is_closed(i) for i in range(4)] == [False, True, False, True]
    assert sorted(cadence_tones(0, False, closed=True).tolist()) == [0, 4, 7]
    assert sorted(cadence_tones(0, True, closed=True).tolist()) == [0, 3, 7]
    assert sorted(cadence_tones(0, True, closed=False).tolist()) == [2, 7, 11]  # V with the leading tone


def test_octave_for_join_keeps_range_first():
    first = np.array([84, 60, 60])
    lo, hi = np.array([80, 56, 50]), np.array([96, 70, 98])
    moves = octave_for_join(first, 70, lo, hi, 55, 100)
    assert moves.tolist() == [-12, 12, 0]


def test_a_session_of_phrases_keeps_its_tonic_and_joins(tmp_path):
    """Through generate(continuation=...): the tonic never changes, the mode follows the valence sign,
    the tempo moves by at most 12 % a phrase, and the state passes explicitly."""
    import musicgen
    from musicgen.model.api import load_model

    model = load_model()
    state, tonics, modes, tempos = None, [], [], []
    plan = ["happy", "happy", "sad", "sad", "anger", "happy"]
    for k, emo in enumerate(plan):
        res = musicgen.generate(
            emo,
            bars=4,
            candidates=16,
            seed=k,
            model=model,
            continuation=state,
            cadence="open" if state is None else None,
        )
        if state is not None:
            assert res.continuation.index == state.index + 1
            assert (
                abs(res.performance.tempo - state.tempo) <= 0.12 * state.tempo + 1e-3
            )  # tempi are written to 3 decimals
            rep = res.report["continuation"]
            assert rep["join_semitones"] <= 7 or rep["candidates_keeping_all"] == 0
        state = res.continuation
        tonics.append(state.tonic)
        modes.append(state.minor)
        tempos.append(res.performance.tempo)
        assert "latents" not in res.performance.meta
    assert len(set(tonics)) == 1
    assert modes[2] and modes[3] and not modes[5]  # minor after the change to sadness, major again when happy
    # a near-neutral estimate after a minor phrase keeps minor, even when its most probable class
    # (surprise) is a major-leaning one: the generator is asked for the kept mode's side
    from musicgen.conditions import EmotionCondition, from_label
    from musicgen.continuation import KEPT_MODE_VALENCE

    sad = musicgen.generate("sadness", bars=4, candidates=16, seed=40, model=model, continuation=state)
    assert sad.continuation.minor
    near = EmotionCondition(from_label("surprise").probabilities, -0.05, 0.6)
    for seed in (41, 42, 43):
        kept = musicgen.generate(
            condition=near, bars=4, candidates=16, seed=seed, model=model, continuation=sad.continuation
        )
        assert kept.report["continuation"]["generator_valence"] == pytest.approx(-KEPT_MODE_VALENCE)
        assert kept.continuation.minor and kept.report["continuation"]["mode_ok"]
    with pytest.raises(musicgen.errors.UsageError, match="cadence"):
        musicgen.generate("happy", bars=4, candidates=2, model=model, cadence="half")


def test_the_first_phrase_is_in_the_mode_its_valence_asks_for():
    """A live session's first phrase (no continuation yet) prefers candidates in the asked mode: of the
    same candidates (same seed), mode="minor" picks a minor one and mode="major" a major one."""
    import musicgen
    from musicgen.conditions import from_valence_arousal
    from musicgen.continuation import mode_for_valence
    from musicgen.interact import _first_mode
    from musicgen.model.api import load_model

    model = load_model()
    point = from_valence_arousal(-0.2, 0.0)  # mildly negative: the generator writes both modes here
    for seed in range(4):
        for mode in ("minor", "major"):
            res = musicgen.generate(condition=point, bars=4, candidates=32, seed=seed, model=model, mode=mode)
            assert res.continuation.minor == (mode == "minor")
    assert mode_for_valence(0.05) is None and mode_for_valence(-0.3) is True and mode_for_valence(0.3) is False
    assert _first_mode(-0.7) == "minor" and _first_mode(0.4) == "major" and _first_mode(0.0) is None
    with pytest.raises(musicgen.errors.UsageError, match="mode"):
        musicgen.generate("happy", bars=4, candidates=2, model=model, mode="dorian")
