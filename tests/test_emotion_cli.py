"""`musicgen emotion simulate / estimate / report` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from musicgen.cli import app
from musicgen.emotion.labels import EMOTIONS
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
    proc = subprocess.run([sys.executable, "-c", "from musicgen.cli import main; main()", "emotion", "estimate", "-"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 × garbage line" in proc.stderr and "<stdin>:8" in proc.stderr
    rows = [ln for ln in proc.stdout.splitlines() if ln.strip() and ln.split()[0].replace(".", "").isdigit()]
    assert len(rows) == 6  # windows ending at 10..15 s (the data reach 14.75 s: within half a hop of 15)
    assert all(ln.rstrip().endswith("hr face") for ln in rows)
    bad = subprocess.run([sys.executable, "-c", "from musicgen.cli import main; main()", "emotion", "estimate", str(tmp_path / "x.csv")],
                         capture_output=True, text=True, timeout=120)
    said = " ".join(bad.stderr.split())  # Rich wraps long lines
    assert bad.returncode == 1 and "Traceback" not in said and "x.csv: no such file" in said


def test_report_on_regenerated_heldout_data(tmp_path, monkeypatch):
    """The report re-simulates held-out people from the seed in the weights' metadata (here 1 person, to stay fast)."""
    from musicgen.emotion.network import Estimator
    from musicgen.emotion.training import heldout_reports

    est = Estimator.load()
    est.meta = {**est.meta, "heldout": {"seed": 1234, "subjects": 1}}
    monkeypatch.setenv("MUSICGEN_CACHE", str(tmp_path))
    reps = heldout_reports(est)
    assert len(reps) == 3 and all("synthetic" in r.data for r in reps)
    assert reps[0].n == 8 * 14 and reps[0].confusion.sum(1).tolist() == [14] * 8
    assert 0 <= reps[0].top1 <= 1 and reps[0].eq11 == pytest.approx(1 - 2 * (1 - reps[0].top1) / 8)
    assert list(tmp_path.glob("emotion/*.npz"))  # cached for the next run
