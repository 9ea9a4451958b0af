"""Diversity and copying figures (musicgen.metrics.diversity) and the judges of musicgen.judge."""

from __future__ import annotations

import numpy as np
import pytest

from musicgen.metrics.diversity import (
    WindowIndex,
    bar_contours,
    bar_rhythms,
    distinct_share,
    diversity_figures,
    melody,
    nearest_neighbour_share,
)


def _piece(notes, bars=4, steps=16, pitches=60):
    """Cells (bars, steps, pitches) from (onset step from the start, length in steps, pitch index)."""
    c = np.zeros((bars * steps, pitches), np.int8)
    for on, ln, p in notes:
        c[on, p] = 1
        c[on + 1 : on + ln, p] = 2
    return c.reshape(bars, steps, pitches)


def _eighths(pitches, bars=4):
    return _piece([(2 * i, 2, p) for i, p in enumerate(pitches[: bars * 8])], bars)


def test_rhythm_codes_and_melody():
    a = _eighths([20 + (i % 5) for i in range(32)])
    b = _piece([(4 * i, 4, 20) for i in range(16)])  # quarters
    codes = bar_rhythms(np.stack([a, b]))
    assert codes.shape == (2, 4)
    assert codes[0, 0] == sum(1 << s for s in range(0, 16, 2))
    assert codes[1, 0] == sum(1 << s for s in range(0, 16, 4))
    mel = melody(np.stack([a]))
    assert mel[0, 0, 0] == 20 and mel[0, 0, 1] == -1 and mel[0, 0, 2] == 21


def test_a_hold_after_silence_starts_a_note():
    c = np.zeros((1, 1, 16, 60), np.int8)
    c[0, 0, 3:6, 10] = 2
    assert bar_rhythms(c)[0, 0] == 1 << 3


def test_contours_are_transposition_invariant_and_see_direction():
    up = _eighths(list(range(20, 52)))
    down = _eighths(list(range(52, 20, -1)))
    up_t = _eighths(list(range(27, 59)))
    c = bar_contours(np.stack([up, down, up_t]))
    assert np.array_equal(c[0], c[2]) and not np.array_equal(c[0], c[1])
    # a bar with one note and an empty bar share the "no interval" code
    one = _piece([(0, 16, 20)], bars=2)
    assert bar_contours(one[None])[0].tolist() == [1, 1]


def test_nearest_neighbour_share_and_distinct():
    codes = np.array([[1, 2, 3, 4], [1, 2, 3, 5], [9, 9, 9, 9]])
    nn = nearest_neighbour_share(codes)
    assert nn.tolist() == [0.75, 0.75, 0.0]
    assert distinct_share(codes) == pytest.approx(6 / 12)
    with pytest.raises(ValueError):
        nearest_neighbour_share(codes[:1])


def test_identical_pieces_score_one_and_random_pieces_low():
    rng = np.random.default_rng(0)
    same = np.stack([_eighths(list(20 + rng.integers(0, 12, 32)))] * 4)
    f = diversity_figures(same)
    assert f["nn_rhythm"] == 1.0 and f["nn_contour"] == 1.0 and f["distinct_rhythms"] == pytest.approx(1 / 16)
    rand = []
    for _ in range(8):
        notes, t = [], 0
        while t < 64:
            ln = int(rng.choice([1, 2, 3, 4]))
            notes.append((t, min(ln, 64 - t), int(rng.integers(10, 40))))
            t += ln
        rand.append(_piece(notes))
    g = diversity_figures(np.stack(rand))
    assert g["nn_rhythm"] < 0.5 and g["distinct_rhythms"] > 0.8


def test_copied_windows_found_even_when_transposed():
    rng = np.random.default_rng(1)
    tune = _eighths(list(20 + rng.integers(0, 12, 64)), bars=8)
    index = WindowIndex.from_tunes([tune])
    assert len(index.signatures) == 5  # windows starting at bars 0..4
    shifted = np.roll(tune, 5, axis=-1)[None, :4]  # the first four bars, a fourth higher
    assert index.copied_share(shifted) == (1.0, 1)
    other = _eighths(list(20 + rng.integers(0, 12, 32)))[None]
    assert index.copied_share(other) == (0.0, 1)
    silent = np.zeros((1, 4, 16, 60), np.int8)
    share, n = index.copied_share(silent)
    assert n == 0 and np.isnan(share)


def test_bootstrap_interval_brackets_the_mean():
    from musicgen.judge import bootstrap_interval, share

    x = np.r_[np.ones(80), np.zeros(20)]
    lo, hi = bootstrap_interval(x)
    assert lo < 0.8 < hi and hi - lo < 0.2
    s = share([1, 1, 0, 1])
    assert s["share"] == 0.75 and s["n"] == 4


def test_control_figures_pair_seeds():
    from musicgen.judge import JudgedPiece, control_figures

    rows = []
    for seed in range(4):
        # high arousal denser in 3 of 4 seeds; positive requests major, negative minor except one
        rows.append(JudgedPiece("V+A+", 0.8, 0.6, seed, "major", 2.0 if seed else 1.0, None))
        rows.append(JudgedPiece("V+A-", 0.8, -0.6, seed, "major", 1.5, None))
        rows.append(JudgedPiece("V-A+", -0.8, 0.6, seed, "minor" if seed else "major", 2.0, None))
        rows.append(JudgedPiece("V-A-", -0.8, -0.6, seed, "minor", 1.0, None))
    f = control_figures(rows)["corners"]
    assert f["positive"]["share"] == 1.0 and f["negative"]["share"] == pytest.approx(7 / 8)
    assert f["arousal_pairs"]["share"] == pytest.approx(7 / 8) and f["arousal_pairs"]["n"] == 8


def test_tkp_mode_and_onsets_per_beat():
    from musicgen.judge import onsets_per_beat, tkp_mode
    from musicgen.piece import Piece

    a_minor = [69, 71, 72, 74, 76, 77, 79, 81, 81, 76, 72, 69, 64, 68, 69, 69]  # with the leading tone G#
    c_major = [60, 62, 64, 65, 67, 69, 71, 72, 72, 67, 64, 60, 67, 71, 72, 72]
    mk = lambda ps: Piece.from_arrays(np.arange(len(ps)) * 240, np.full(len(ps), 240), ps)  # noqa: E731
    assert tkp_mode(mk(a_minor)) == "minor" and tkp_mode(mk(c_major)) == "major"
    assert onsets_per_beat(mk(c_major)) == pytest.approx(2.0)  # eighths over two 4/4 bars
