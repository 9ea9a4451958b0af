"""Bar grid: exact for notes on the grid, meters, measured quantisation error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.grid import HOLD, ONSET, GridSpec, grid_to_piece, piece_to_grid
from musicgen.piece import Piece


def test_steps_per_bar():
    assert GridSpec().steps_per_bar == 48
    assert GridSpec().with_meter(6, 8).steps_per_bar == 36
    assert GridSpec().with_meter(3, 4).steps_per_bar == 36
    assert GridSpec().with_meter(2, 4).steps_per_bar == 24
    assert GridSpec(steps_per_quarter=4).with_meter(7, 16).steps_per_bar == 7
    with pytest.raises(ValueError):
        _ = GridSpec(steps_per_quarter=4).with_meter(5, 32).steps_per_bar


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(1, 30), st.integers(40, 100)),
        min_size=1,
        max_size=40,
        unique_by=lambda t: (t[0], t[2]),
    ),
    st.sampled_from([(4, 4), (6, 8), (3, 4), (2, 4)]),
)
def test_round_trip_exact_on_grid(notes, meter):
    # notes on the 12-per-quarter grid, no two overlapping at the same pitch
    notes = sorted(notes, key=lambda t: (t[2], t[0]))
    kept = []
    for on, d, p in notes:
        if kept and kept[-1][2] == p and kept[-1][0] + kept[-1][1] > on:
            continue
        kept.append((on, d, p))
    on, dur, pitch = map(np.asarray, zip(*kept))
    piece = Piece.from_arrays(on * 40, dur * 40, pitch, time_signatures=np.array([[0, *meter]]))
    grid, rep = piece_to_grid(piece)
    assert rep.exact and rep.n_moved == 0 and rep.mean_abs_error_qn == 0
    assert grid.data.shape[1] == GridSpec().with_meter(*meter).steps_per_bar
    back = grid_to_piece(grid)
    for f in ("onset_tick", "duration_tick", "pitch"):
        assert np.array_equal(back.notes[f], piece.notes[f])
    assert back.time_signature == meter


def test_repeated_notes_stay_separate():
    p = Piece.from_arrays([0, 120, 240], [120, 120, 120], [60, 60, 60])
    g, _ = piece_to_grid(p)
    col = g.data.reshape(-1, g.spec.n_pitches)[:, 60 - g.spec.lowest_pitch]
    assert col[:9].tolist() == [ONSET, HOLD, HOLD, ONSET, HOLD, HOLD, ONSET, HOLD, HOLD]
    assert len(grid_to_piece(g)) == 3


def test_quantisation_is_measured():
    # a thirty-second note (60 ticks = 1.5 steps) cannot sit on the grid
    p = Piece.from_arrays([0, 60, 480], [60, 60, 480], [60, 62, 100])
    g, rep = piece_to_grid(p)
    assert rep.n_moved >= 1
    assert rep.max_abs_error_qn == pytest.approx(1 / 24)  # half a step of 1/12 quarter
    assert not rep.exact
    out = Piece.from_arrays([0, 0], [480, 480], [20, 60])
    _, rep2 = piece_to_grid(out)
    assert rep2.n_out_of_range == 1
    merged = Piece.from_arrays([0, 0], [480, 240], [60, 60])
    _, rep3 = piece_to_grid(merged)
    assert rep3.n_merged == 1


def test_corpus_tune_on_grid(acacia):
    g, rep = piece_to_grid(acacia)
    assert rep.exact  # sextuplet sixteenths (2 steps) fit the 12-per-quarter grid
    assert g.data.shape == (17, 24, 72)
    # the pickup bar is padded: nothing sounds before the pickup's first note at 1.5 quarters
    assert not g.data[0, :18].any() and g.data[0, 18].any()
