"""Property tests (hypothesis) of the rules engine on random candidate grids.

Grids are 4 steps per quarter with a pitch window (E2..D#8) wider than the violin's G3..E7 so that
out-of-range notes are visible, in 4/4, 3/4, 2/4 or 6/8, 1 to 4 bars.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicgen.grid import Grid, GridSpec, grid_to_piece
from musicgen.piece import Key, Piece
from musicgen.rules import RuleSet

LOW, N_P = 40, 72
VIOLIN = RuleSet.load("violin")
MELODY = RuleSet.load("melody")
SETS = [VIOLIN, MELODY]
PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_grid(spec: GridSpec, n_bars: int, notes) -> np.ndarray:
    """Grid (bars, steps, pitches) from (onset step, duration steps, MIDI pitch); holds first, then
    onsets (a later onset cuts a sounding note at its pitch), as musicgen.grid.piece_to_grid does."""
    total = n_bars * spec.steps_per_bar
    flat = np.zeros((total, spec.n_pitches), dtype=np.int8)
    for on, dur, pitch in notes:
        flat[on + 1 : min(on + dur, total), pitch - spec.lowest_pitch] = 2
    for on, _, pitch in notes:
        flat[on, pitch - spec.lowest_pitch] = 1
    return flat.reshape(n_bars, spec.steps_per_bar, spec.n_pitches)


@st.composite
def specs(draw):
    num, den = draw(st.sampled_from([(4, 4), (3, 4), (2, 4), (6, 8)]))
    return GridSpec(4, LOW, N_P, num, den), draw(st.integers(1, 4))


def note_lists(spec: GridSpec, n_bars: int, pitches=st.integers(LOW, LOW + N_P - 1), max_size=24):
    total = n_bars * spec.steps_per_bar
    return st.lists(st.tuples(st.integers(0, total - 1), st.integers(1, 8), pitches), max_size=max_size)


@st.composite
def candidates(draw, pitches=st.integers(LOW, LOW + N_P - 1), min_notes=0):
    spec, n_bars = draw(specs())
    notes = draw(note_lists(spec, n_bars, pitches).filter(lambda xs: len(xs) >= min_notes))
    return spec, n_bars, notes


@st.composite
def batches(draw):
    spec, n_bars = draw(specs())
    n = draw(st.integers(1, 5))
    grids = [make_grid(spec, n_bars, draw(note_lists(spec, n_bars))) for _ in range(n)]
    return spec, np.stack(grids)


keys = st.one_of(st.none(), st.builds(Key, st.integers(0, 11), st.sampled_from(["major", "minor"])))


@PROFILE
@given(batches(), keys, st.sampled_from(SETS))
def test_r_f_lies_between_weighted_penalties_and_rewards(batch, key, rs):
    spec, data = batch
    s = rs.score_grids(data, spec, key=key)
    lo, hi = rs.bounds
    assert np.all(s.r_f >= lo - 1e-12) and np.all(s.r_f <= hi + 1e-12)
    for r in rs.rules:
        assert np.all(s.rules[r.name] >= r.penalty - 1e-12) and np.all(s.rules[r.name] <= r.reward + 1e-12)


@PROFILE
@given(candidates(pitches=st.integers(55, 100), min_notes=1))
def test_melody_in_range_gets_exactly_the_reward(c):
    spec, n_bars, notes = c
    s = VIOLIN.score_grids(make_grid(spec, n_bars, notes), spec)
    assert s.rules["range"][0] == VIOLIN.rule("range").reward


@PROFILE
@given(candidates(pitches=st.one_of(st.integers(LOW, 54), st.integers(101, LOW + N_P - 1)), min_notes=1))
def test_melody_out_of_range_gets_exactly_the_penalty(c):
    spec, n_bars, notes = c
    s = VIOLIN.score_grids(make_grid(spec, n_bars, notes), spec)
    assert s.rules["range"][0] == VIOLIN.rule("range").penalty


@PROFILE
@given(candidates(), st.data())
def test_adding_an_out_of_range_note_never_raises_the_range_score(c, data):
    spec, n_bars, notes = c
    total = n_bars * spec.steps_per_bar
    extra = (
        data.draw(st.integers(0, total - 1)),
        data.draw(st.integers(1, 8)),
        data.draw(st.one_of(st.integers(LOW, 54), st.integers(101, LOW + N_P - 1))),
    )
    before = VIOLIN.score_grids(make_grid(spec, n_bars, notes), spec).rules["range"][0]
    after = VIOLIN.score_grids(make_grid(spec, n_bars, notes + [extra]), spec).rules["range"][0]
    assert after <= before


@PROFILE
@given(specs(), st.data(), st.sampled_from(SETS))
def test_a_monophonic_line_gets_the_polyphony_reward(sb, data, rs):
    spec, n_bars = sb
    total = n_bars * spec.steps_per_bar
    # consecutive, non-overlapping notes (with optional rests between them)
    notes, t = [], data.draw(st.integers(0, 4))
    while t < total:
        dur = data.draw(st.integers(1, 6))
        notes.append((t, dur, data.draw(st.integers(LOW, LOW + N_P - 1))))
        t += dur + data.draw(st.integers(0, 3))
    s = rs.score_grids(make_grid(spec, n_bars, notes), spec)
    assert s.rules["polyphony"][0] == rs.rule("polyphony").reward


@PROFILE
@given(batches(), keys, st.sampled_from(SETS))
def test_soft_equals_exact_on_binary_grids(batch, key, rs):
    spec, data = batch
    exact = rs.score_grids(data, spec, key=key)
    r_f, per = rs.soft_score(torch.from_numpy(data == 1).double(), torch.from_numpy(data != 0).double(), spec, key=key)
    assert r_f.numpy().tolist() == exact.r_f.tolist()
    assert all(per[k].numpy().tolist() == exact.rules[k].tolist() for k in exact.rules)


@PROFILE
@given(batches(), st.sampled_from(SETS))
def test_batched_equals_one_at_a_time(batch, rs):
    spec, data = batch
    together = rs.score_grids(data, spec, chunk_size=2)
    for i in range(data.shape[0]):
        alone = rs.score_grids(data[i : i + 1], spec)
        assert alone.r_f[0] == together.r_f[i]
        for k in alone.rules:
            assert alone.rules[k][0] == together.rules[k][i]
            assert alone.bar_violations[k][0].tolist() == together.bar_violations[k][i].tolist()
    # permuting the candidates permutes their scores
    perm = np.random.default_rng(0).permutation(data.shape[0])
    assert rs.score_grids(data[perm], spec).r_f.tolist() == together.r_f[perm].tolist()


@PROFILE
@given(candidates(min_notes=1), st.randoms(use_true_random=False))
def test_scores_are_invariant_to_the_order_of_notes(c, rnd):
    spec, n_bars, notes = c
    res = 480
    tps = res // spec.steps_per_quarter
    arr = np.array(notes, dtype=np.int64)
    piece = Piece.from_arrays(
        arr[:, 0] * tps, arr[:, 1] * tps, arr[:, 2], time_signatures=np.array([[0, spec.numerator, spec.denominator]])
    )
    shuffled = piece.copy()
    order = list(range(len(piece)))
    rnd.shuffle(order)
    shuffled.notes = shuffled.notes[np.asarray(order)]  # not re-sorted
    for rs in SETS:
        a, b = rs.score_piece(piece), rs.score_piece(shuffled)
        assert a.rules == b.rules and a.r_f == b.r_f
        assert [v.message for v in a.violations] == [v.message for v in b.violations]
    # and the grid built from the notes in any order is the same grid
    assert np.array_equal(make_grid(spec, n_bars, sorted(notes)), make_grid(spec, n_bars, sorted(notes, reverse=True)))


@PROFILE
@given(
    candidates(pitches=st.integers(55, 88), min_notes=1),
    st.integers(-3, 12),
    st.integers(0, 11),
    st.sampled_from(["major", "minor"]),
)
def test_chord_rule_is_invariant_to_transposition(c, shift, tonic, mode):
    spec, n_bars, notes = c
    a = make_grid(spec, n_bars, notes)
    b = make_grid(spec, n_bars, [(o, d, p + shift) for o, d, p in notes])
    sa = VIOLIN.score_grids(a, spec, key=Key(tonic, mode))
    sb = VIOLIN.score_grids(b, spec, key=Key((tonic + shift) % 12, mode))
    assert sa.rules["chord_tones"][0] == sb.rules["chord_tones"][0]
    assert sa.bar_violations["chord_tones"].tolist() == sb.bar_violations["chord_tones"].tolist()


@PROFILE
@given(st.lists(st.integers(0, 20), min_size=12, max_size=12), st.integers(1, 11))
def test_key_estimate_moves_with_transposition_unless_tied(hist, shift):
    from hypothesis import assume

    from musicgen.analysis import key_profiles
    from musicgen.rules.chords import estimate_keys

    h = np.asarray(hist, dtype=float)[None]
    hc = h - h.mean()
    assume(np.linalg.norm(hc) > 0)
    corr = np.sort((hc / np.linalg.norm(hc)) @ key_profiles().T)[0]
    assume(corr[-1] - corr[-2] > 1e-6)  # a unique best key
    a = estimate_keys(h)[0]
    b = estimate_keys(np.roll(h, shift, axis=1))[0]
    assert b[1] == a[1] and (b[0] - a[0]) % 12 == shift


@PROFILE
@given(candidates(min_notes=1))
def test_piece_path_agrees_with_grid_path(c):
    spec, n_bars, notes = c
    data = make_grid(spec, n_bars, notes)
    g = VIOLIN.score_grids(data, spec)
    p = VIOLIN.score_piece(grid_to_piece(Grid(data, spec)))  # 12 steps a quarter, its own pitch window
    for k in ("range", "polyphony", "chord_tones"):
        assert p.rules[k] == pytest.approx(g.rules[k][0], abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(batches(), st.floats(0.05, 0.95))
def test_soft_scores_stay_in_bounds_on_soft_grids(batch, mix):
    spec, data = batch
    noise = torch.rand(data.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    on = mix * torch.from_numpy(data == 1).double() + (1 - mix) * noise * 0.2
    so = torch.maximum(on, mix * torch.from_numpy(data != 0).double() + (1 - mix) * noise * 0.3)
    for rs in SETS:
        r_f, per = rs.soft_score(on, so, spec)
        lo, hi = rs.bounds
        assert torch.all(r_f >= lo - 1e-9) and torch.all(r_f <= hi + 1e-9)
        for r in rs.rules:
            assert torch.all(per[r.name] >= r.penalty - 1e-9) and torch.all(per[r.name] <= r.reward + 1e-9)
