"""`musicgen interact`: phrases follow the live estimate; the session MIDI is valid at every point."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from musicgen.io import read_piece


@pytest.fixture(scope="module")
def changing_recording(tmp_path_factory):
    """A SYNTHETIC 60 s recording whose emotion changes half-way: 30 s happy, then 30 s sadness."""
    from musicgen.emotion.simulate import simulate_session, write_recording_csv

    path = tmp_path_factory.mktemp("rec") / "session.csv"
    write_recording_csv(simulate_session([("happy", 30.0), ("sadness", 30.0)], seed=7), path)
    return path


def test_phrases_follow_the_estimate(tmp_path, changing_recording):
    from musicgen.interact import run_interact

    out = tmp_path / "session.mid"
    session = run_interact(
        str(changing_recording), output=out, phrase_bars=2, candidates=4, seed=0, log=tmp_path / "log.json"
    )
    assert len(session.phrases) >= 4
    piece = read_piece(out)
    assert len(piece) == sum(p.n_notes for p in session.phrases)
    # one tempo per phrase, at the phrase's start
    assert piece.tempos[:, 0].tolist() == [float(p.start_tick) for p in session.phrases]
    # every phrase was conditioned on the estimate current when it was generated
    by_time = {e["time"]: e for e in session.timeline}
    for ph in session.phrases:
        est = by_time[round(ph.stream_time, 6)]
        assert est["label"] == ph.label and est["valence"] == pytest.approx(ph.valence, abs=1e-6)
    # the conditioning follows the change: valence falls from the first half to the second
    first = [p.valence for p in session.phrases if p.stream_time < 30]
    second = [p.valence for p in session.phrases if p.stream_time > 40]
    assert first and second and np.mean(first) > np.mean(second)
    log = json.loads((tmp_path / "log.json").read_text())
    assert len(log["phrases"]) == len(session.phrases) and len(log["estimates"]) == len(session.timeline)


def test_max_phrases_and_cli(tmp_path, changing_recording):
    from musicgen.cli import app

    out = tmp_path / "s.mid"
    r = CliRunner().invoke(
        app,
        [
            "interact",
            "--source",
            str(changing_recording),
            "-o",
            str(out),
            "--phrase-bars",
            "4",
            "--max-phrases",
            "2",
            "--candidates",
            "4",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "2 phrases" in r.output
    p = read_piece(out)
    assert p.tempos.shape[0] == 2 and len(p) > 0
    r2 = CliRunner().invoke(
        app, ["interact", "--source", str(changing_recording), "-o", str(out), "--max-phrases", "1"]
    )
    assert r2.exit_code != 0  # exists, no --force


def test_unknown_midi_port_is_a_clear_error(tmp_path, changing_recording):
    from musicgen.errors import UsageError
    from musicgen.interact import run_interact

    with pytest.raises(UsageError, match="(?i)midi"):
        run_interact(str(changing_recording), output=tmp_path / "x.mid", midi_port="no such port", max_phrases=1)
