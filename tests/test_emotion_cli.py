"""`musicgen emotion simulate / estimate / report` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from musicgen.cli import app
from musicgen.conditions import EMOTIONS
from musicgen.errors import InputError, OutputExistsError

runner = CliRunner()


def test_simulate_then_estimate_writes_the_documented_json(tmp_path):
    rec = tmp_path / "demo.csv"
    r = runner.invoke(app, ["emotion", "simulate", str(rec), "--segments", "neutral:30,happy:20", "--seed", "2"])
    assert r.exit_code == 0, r.output
    assert rec.read_text().startswith("# SYNTHETIC")
    out = tmp_path / "timeline.json"
    r = runner.invoke(app, ["emotion", "estimate", str(rec), "--json", str(out), "--every", "10"])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    est = doc["estimates"]
    assert len(est) == 41 and est[0]["time"] == 10.0 and est[-1]["time"] == 50.0
    for e in est:
        assert set(e) == {"time", "probabilities", "valence", "arousal", "label", "modalities"}
        assert list(e["probabilities"]) == list(EMOTIONS) and e["label"] in EMOTIONS
        assert -1 <= e["valence"] <= 1 and -1 <= e["arousal"] <= 1
    assert doc["model"]["synthetic"] is True
    assert "time s" in r.stdout and "10.0" in r.stdout
    # never overwrite without --force
    r = runner.invoke(app, ["emotion", "estimate", str(rec), "--json", str(out)])
    assert isinstance(r.exception, OutputExistsError)
    r = runner.invoke(app, ["emotion", "estimate", str(tmp_path / "nope.csv")])
    assert isinstance(r.exception, InputError)


def test_stdin_jsonl_through_the_real_entry_point(tmp_path):
    lines = [json.dumps({"time": i / 4, "hr": 70 + (i % 5), "face_happy": 0.7, "face_neutral": 0.3}) for i in range(60)]
    lines.insert(7, "garbage")
    proc = subprocess.run(
        [sys.executable, "-c", "from musicgen.cli import main; main()", "emotion", "estimate", "-"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 × garbage line" in proc.stderr and "<stdin>:8" in proc.stderr
    rows = [ln for ln in proc.stdout.splitlines() if ln.strip() and ln.split()[0].replace(".", "").isdigit()]
    assert len(rows) == 6  # windows ending at 10..15 s (the data reach 14.75 s: within half a hop of 15)
    assert all(ln.rstrip().endswith("hr face") for ln in rows)
    bad = subprocess.run(
        [sys.executable, "-c", "from musicgen.cli import main; main()", "emotion", "estimate", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = " ".join(bad.stderr.split())  # Rich wraps long lines
    assert bad.returncode == 1 and "Traceback" not in said and "x.csv: no such file" in said


def test_report_says_how_baselines_are_handled_and_shows_the_real_events(tmp_path, monkeypatch, shared_data):
    """`emotion report` on one unseen simulated person (to stay fast), the README demo and NeuroKit2's real event recording."""
    monkeypatch.setenv("MUSICGEN_CACHE", str(tmp_path / "cache"))
    events = shared_data / "physio" / "bio_eventrelated_100hz.csv"
    out = tmp_path / "report.json"
    r = runner.invoke(
        app,
        [
            "emotion",
            "report",
            "--seeds",
            "1",
            "--short-seeds",
            "0",
            "--fresh-seeds",
            "1",
            "--physio-events",
            str(events),
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "Per-person baselines: no resting start is assumed" in text and "SYNTHETIC" in text
    for variant in ("all channels", "no face", "cardiac only"):
        assert variant in text
    assert "README demo" in text and "four images" in text and "prove little" in text
    doc = json.loads(out.read_text())
    assert doc["unseen_sessions"]["seeds"] == [2000] and set(doc["unseen_sessions"]["variants"]) == {
        "all channels",
        "no face",
        "cardiac only",
    }
    assert [e["condition"] for e in doc["physio_events"]] == ["Negative", "Neutral", "Neutral", "Negative"]
    assert doc["readme_demo"]["scored"] == 54
    assert doc["short_sessions"] is None and "Fresh short sessions" in text
    fresh = doc["fresh_short_sessions"]
    assert (
        fresh["seeds"] == [3000]
        and fresh["scored"] == [54]
        and 0 <= fresh["correct"][0] <= 54
        and len(fresh["orders"][0]) == 3
    )
    assert list((tmp_path / "cache" / "emotion").glob("eval-*/seed2000-*.npz"))  # cached for the next run
    r = runner.invoke(
        app,
        [
            "emotion",
            "report",
            "--seeds",
            "1",
            "--short-seeds",
            "0",
            "--fresh-seeds",
            "0",
            "--physio-events",
            str(tmp_path / "none.csv"),
        ],
    )
    assert isinstance(r.exception, InputError)


def test_train_writes_weights_that_load(tmp_path, monkeypatch):
    """`emotion train` end to end on one short simulated session and one epoch (the real recipe takes its defaults)."""
    from musicgen.emotion.network import Estimator

    monkeypatch.setenv("MUSICGEN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "est.pt"
    r = runner.invoke(
        app, ["emotion", "train", "--out", str(out), "--sessions", "1", "--epochs", "1", "--eval-seeds", "0"]
    )
    assert r.exit_code == 0, r.output
    est = Estimator.load(out)
    assert est.meta["synthetic"] is True and est.meta["train_sessions"] == 1 and "synthetic" in est.meta["trained_on"]
    r = runner.invoke(
        app, ["emotion", "train", "--out", str(out), "--sessions", "1", "--epochs", "1", "--eval-seeds", "0"]
    )
    assert isinstance(r.exception, OutputExistsError)
