"""`musicgen generate` and `musicgen.generate`: the shipped model, scoring, rendering, determinism, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import musicgen
from musicgen.cli import app
from musicgen.errors import OutputExistsError, UsageError
from musicgen.io import read_piece

REPORT_KEYS = {
    "emotion",
    "valence",
    "arousal",
    "seed",
    "candidates",
    "score",
    "r_f",
    "rules",
    "pce",
    "theme_count",
    "tempo_bpm",
}


@pytest.fixture(scope="module")
def model():
    from musicgen.model.api import load_model

    return load_model()  # the shipped default model


def test_api_returns_piece_and_report(model):
    piece, report = musicgen.generate("happy", bars=8, candidates=8, seed=1, model=model)
    assert REPORT_KEYS <= set(report)
    assert report["emotion"] == "happy" and report["candidates"] == 8 and report["bars"] == 8
    assert len(piece) > 0 and piece.tracks[0].program == 40  # violin
    assert piece.end <= 8 * 4 + 1e-9  # 8 bars of 4/4
    assert piece.tempo == report["tempo_bpm"]
    assert set(report["rules"]) == {"range", "polyphony", "rests", "chord_tones"}
    assert report["pce"] == pytest.approx(musicgen.metrics.pitch_class_entropy(piece))


def test_best_candidate_maximises_the_score(model):
    res = musicgen.generate("sad", bars=4, candidates=16, seed=2, model=model, beta_disc=0.0)
    # with β2 = 0 the choice is the candidate with the highest R_F
    assert res.report["candidate_r_f"] == pytest.approx(res.candidate_scores["r_f"].max())
    assert res.report["r_f_gain_over_mean_candidate"] >= 0
    res2 = musicgen.generate("sad", bars=4, candidates=16, seed=2, model=model, beta_rules=0.0)
    assert res2.report["disc"] == pytest.approx(res2.candidate_scores["disc"].max())


def test_emotion_shapes_the_rendering(model):
    _, happy = musicgen.generate("happiness", bars=4, candidates=4, seed=3, model=model)
    _, sad = musicgen.generate("SAD", bars=4, candidates=4, seed=3, model=model)
    assert happy["emotion"] == "happy" and sad["emotion"] == "sadness"
    assert happy["tempo_bpm"] > sad["tempo_bpm"]
    assert not happy["parallel_mode"]
    # the parallel-mode swap is an explicit opt-in
    _, sad_pm = musicgen.generate("SAD", bars=4, candidates=4, seed=3, model=model, parallel_mode=True)
    _, happy_pm = musicgen.generate("happy", bars=4, candidates=4, seed=3, model=model, parallel_mode=True)
    assert sad_pm["mode"] == "minor" and happy_pm["mode"] == "major" and sad_pm["parallel_mode"]
    _, va = musicgen.generate(valence=-0.6, arousal=0.7, bars=4, candidates=4, seed=3, model=model)
    assert va["valence"] == -0.6 and va["arousal"] == 0.7


def test_the_composition_is_the_generators(model, tmp_path):
    """By default the notation holds the chosen candidate's notes (transposed to its tonic), the MIDI
    has the same pitches in the same order, and the MusicXML holds the notation's notes."""
    from musicgen.grid import grid_to_piece
    from musicgen.io import read_notation, write_musicxml

    for emo, seed in (("sad", 1), ("happy", 2), ("fear", 3)):
        res = musicgen.generate(emo, bars=4, candidates=4, seed=seed, model=model)
        written = grid_to_piece(res.grid)
        assert np.array_equal(res.composition.notes["pitch"], written.notes["pitch"])
        assert np.array_equal(res.performance.notes["pitch"], res.composition.notes["pitch"])
        assert np.all(np.diff(res.performance.notes["onset_tick"]) >= 0)
        path = write_musicxml(res.composition, tmp_path / f"{emo}.musicxml")
        assert np.array_equal(read_notation(path).notes["pitch"], res.composition.notes["pitch"])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"emotion": "joyous-ish"}, "unknown emotion"),
        ({"emotion": "happy", "bars": 0}, "--bars"),
        ({"emotion": "happy", "candidates": 0}, "--candidates"),
        ({"valence": 0.5}, "--valence and --arousal"),
        ({"emotion": "happy", "valence": 0.2, "arousal": 0.1}, "exactly one"),
        ({"emotion": "happy", "beta_rules": -1.0}, "non-negative"),
    ],
)
def test_bad_arguments(model, kwargs, match):
    with pytest.raises(UsageError, match=match):
        musicgen.generate(model=model, **kwargs)


def test_cli_writes_identical_bytes_for_the_same_seed(tmp_path):
    args = ["generate", "--emotion", "fear", "--bars", "4", "--candidates", "8", "--seed", "11"]
    r1 = CliRunner().invoke(
        app,
        args
        + [
            "-o",
            str(tmp_path / "a.mid"),
            "--json",
            str(tmp_path / "a.json"),
            "--musicxml",
            str(tmp_path / "a.musicxml"),
        ],
    )
    r2 = CliRunner().invoke(app, args + ["-o", str(tmp_path / "b.mid")])
    assert r1.exit_code == 0, r1.output
    assert r2.exit_code == 0, r2.output
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    rep = json.loads((tmp_path / "a.json").read_text())
    assert REPORT_KEYS <= set(rep) and rep["seed"] == 11
    assert len(read_piece(tmp_path / "a.musicxml")) == len(read_piece(tmp_path / "a.mid"))
    r3 = CliRunner().invoke(app, args[:-1] + ["12", "-o", str(tmp_path / "c.mid")])
    assert r3.exit_code == 0, r3.output
    assert (tmp_path / "c.mid").read_bytes() != (tmp_path / "a.mid").read_bytes()
    # existing output without --force: refused, file untouched
    before = (tmp_path / "a.mid").read_bytes()
    r4 = CliRunner().invoke(app, ["generate", "--emotion", "happy", "-o", str(tmp_path / "a.mid")])
    assert isinstance(r4.exception, OutputExistsError)
    assert (tmp_path / "a.mid").read_bytes() == before


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from musicgen.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_errors_are_one_clear_line(tmp_path):
    r = _run("generate", "--emotion", "bliss", "-o", str(tmp_path / "x.mid"))
    assert r.returncode == 2
    assert "unknown emotion 'bliss'" in r.stderr and "neutral, happy, anger" in r.stderr
    assert "Traceback" not in r.stderr
    r = _run("generate", "--emotion", "happy", "--bars", "0", "-o", str(tmp_path / "x.mid"))
    assert r.returncode == 2 and "--bars" in r.stderr and "Traceback" not in r.stderr
    r = _run("generate", "--emotion", "happy", "-o", str(tmp_path / "no" / "such" / "x.mid"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.mid").exists()


def test_live_condition_from_a_signal_file(tmp_path):
    from musicgen.emotion.simulate import simulate_session, write_recording_csv

    rec = simulate_session([("neutral", 30.0), ("sadness", 30.0)], seed=4)
    write_recording_csv(rec, tmp_path / "s.csv")
    r = CliRunner().invoke(
        app,
        [
            "generate",
            "--live",
            str(tmp_path / "s.csv"),
            "--bars",
            "4",
            "--candidates",
            "4",
            "-o",
            str(tmp_path / "live.mid"),
            "--json",
            str(tmp_path / "live.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "live.json").read_text())
    assert len(read_piece(tmp_path / "live.mid")) > 0
    assert set(rep["probabilities"]) == set(musicgen.emotion.EMOTIONS)
    assert abs(sum(rep["probabilities"].values()) - 1) < 1e-6
