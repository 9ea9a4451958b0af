"""Expressive rendering: parameters from the performance file, applied as documented."""

from __future__ import annotations

import numpy as np
import pytest

from musicgen.emotion import from_label, from_valence_arousal
from musicgen.errors import InputError
from musicgen.grid import GridSpec, piece_to_grid
from musicgen.perform import change_mode, estimate_key, load_performance, params_for, render
from musicgen.piece import Key, Piece

# C major scale up and down, quarter notes, two bars of 4/4 and a final C
C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72, 72, 71, 69, 67, 65, 64, 62, 60]


def _scale_piece() -> Piece:
    n = len(C_MAJOR)
    return Piece.from_arrays(np.arange(n) * 480, np.full(n, 480), C_MAJOR)


def test_shipped_table_loads_and_orders_emotions():
    t = load_performance()
    assert t["happy"].tempo_qpm > t["neutral"].tempo_qpm > t["sadness"].tempo_qpm
    assert t["anger"].velocity > t["happy"].velocity > t["sadness"].velocity
    assert t["sadness"].articulation > t["happy"].articulation  # legato vs staccato
    assert t["fear"].timing_jitter_ms > t["happy"].timing_jitter_ms  # irregular
    assert t["sadness"].mode == "minor" and t["happy"].mode == "major"


def test_params_interpolate_between_classes():
    t = load_performance()
    p = params_for(from_valence_arousal(0.0, 0.0), t)
    lo = min(r.tempo_qpm for r in t.values())
    hi = max(r.tempo_qpm for r in t.values())
    assert lo <= p.tempo_qpm <= hi
    assert params_for(from_label("happy"), t).tempo_qpm == t["happy"].tempo_qpm


@pytest.mark.parametrize(
    "text,msg",
    [
        ("not toml [", "not valid TOML"),
        ("[emotion.happy]\ntempo_qpm = 1\n", "missing"),
    ],
)
def test_bad_performance_files(tmp_path, text, msg):
    f = tmp_path / "perf.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=msg):
        load_performance(f)


def test_out_of_range_value_names_the_field(tmp_path):
    from importlib.resources import files

    text = files("musicgen.rulefiles").joinpath("performance.toml").read_text()
    f = tmp_path / "perf.toml"
    f.write_text(text.replace("articulation = 0.72", "articulation = 7.2"))
    with pytest.raises(InputError, match=r"\[emotion.happy\] articulation"):
        load_performance(f)


def test_mode_change_lowers_degrees_3_6_7():
    p = _scale_piece()
    assert estimate_key(p) == Key(0, "major")
    m = change_mode(p, "minor")
    assert sorted(set(m.notes["pitch"] % 12)) == [0, 2, 3, 5, 7, 8, 10]  # C natural minor
    assert m.key == Key(0, "minor")
    back = change_mode(m, "major")
    assert np.array_equal(back.notes["pitch"], p.notes["pitch"])
    assert np.array_equal(change_mode(p, "keep").notes["pitch"], p.notes["pitch"])


def test_render_applies_tempo_dynamics_articulation():
    grid, _ = piece_to_grid(_scale_piece(), GridSpec(steps_per_quarter=4, lowest_pitch=48, n_pitches=60))
    t = load_performance()
    happy = render(grid, from_label("happy"), seed=1)
    sad = render(grid, from_label("sadness"), seed=1)
    assert happy.tempo == t["happy"].tempo_qpm and sad.tempo == t["sadness"].tempo_qpm
    assert happy.notes["velocity"].mean() > sad.notes["velocity"].mean()
    # articulation: sounding / notated length
    assert np.median(happy.notes["duration_tick"]) == round(480 * t["happy"].articulation)
    assert np.median(sad.notes["duration_tick"]) == 480
    assert len(happy) == len(C_MAJOR)
    # the performance never changes pitches: by default sadness keeps the composer's C major
    assert np.array_equal(sad.notes["pitch"], C_MAJOR) and np.array_equal(happy.notes["pitch"], C_MAJOR)
    assert sad.key == Key(0, "major") and happy.key == Key(0, "major")
    # the parallel-mode swap is an explicit opt-in
    swapped = render(grid, from_label("sadness"), seed=1, parallel_mode=True)
    assert swapped.key == Key(0, "minor") and sorted(set(swapped.notes["pitch"] % 12)) == [0, 2, 3, 5, 7, 8, 10]
    assert meta_ok(happy)


def meta_ok(p: Piece) -> bool:
    return set(p.meta["performance"]) >= {"tempo_qpm", "velocity", "articulation", "mode"}


def test_render_is_deterministic_per_seed():
    grid, _ = piece_to_grid(_scale_piece(), GridSpec(steps_per_quarter=4, lowest_pitch=48, n_pitches=60))
    a = render(grid, from_label("fear"), seed=5)
    b = render(grid, from_label("fear"), seed=5)
    c = render(grid, from_label("fear"), seed=6)
    assert np.array_equal(a.notes, b.notes)
    assert not np.array_equal(a.notes["onset_tick"], c.notes["onset_tick"])  # fear has timing jitter


def test_render_jitter_never_reorders_notes():
    """Large timing jitter (fear) on fast running sixteenths: the MIDI keeps the written order."""
    n = 64
    fast = Piece.from_arrays(np.arange(n) * 120, np.full(n, 120), 60 + (np.arange(n) * 7) % 24)
    grid, _ = piece_to_grid(fast, GridSpec(steps_per_quarter=4, lowest_pitch=48, n_pitches=60))
    for seed in range(20):
        perf = render(grid, from_label("fear"), seed=seed)
        assert np.array_equal(perf.notes["pitch"], fast.notes["pitch"])
        assert np.all(np.diff(perf.notes["onset_tick"]) > 0)


def test_notate_keeps_rhythm_and_pitches_sets_key_tempo():
    from musicgen.perform import notate

    grid, _ = piece_to_grid(_scale_piece(), GridSpec(steps_per_quarter=4, lowest_pitch=48, n_pitches=60))
    t = load_performance()
    n = notate(grid, from_label("sadness"))
    assert n.key == Key(0, "major") and n.tempo == t["sadness"].tempo_qpm
    assert np.array_equal(n.notes["pitch"], C_MAJOR)
    assert notate(grid, from_label("sadness"), parallel_mode=True).key == Key(0, "minor")
    assert np.array_equal(n.notes["duration_tick"], np.full(len(C_MAJOR), 480))  # no articulation here
    assert set(n.notes["velocity"].tolist()) == {80}
    neutral = notate(grid, from_label("neutral"))
    assert neutral.key == Key(0, "major")  # "keep" still names the key
    assert np.array_equal(neutral.notes["pitch"], C_MAJOR)
