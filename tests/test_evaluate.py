"""``musicgen evaluate`` and :func:`musicgen.evaluate.evaluate_paths` on a folder of good and bad files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from musicgen.evaluate import (
    METRICS,
    discover_files,
    evaluate_paths,
    evaluate_pieces,
    metric_summary,
    report_to_csv,
    report_to_json,
)
from musicgen.io import read_piece, write_midi
from musicgen.metrics import pitch_class_entropy, scale_consistency, theme_count, theme_counts
from musicgen.piece import Piece, Track

GOOD = ("multi.mid", "six8.mid", "sub/reel.mid")
BAD = {"corrupt.mid": "corrupt", "empty.mid": "empty", "text.mid": "corrupt", "nonotes.mid": "no notes"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder with a corrupt, an empty, a text .mid, a note-less MIDI, a type-1 multi-track file, a 6/8 jig."""
    import symusic
    from music21 import corpus

    from musicgen.io import piece_from_stream

    d = tmp_path_factory.mktemp("eval")
    (d / "sub").mkdir()
    reel = piece_from_stream(corpus.parse("ryansMammoth/AcaciaReel.abc"), "AcaciaReel")
    write_midi(reel, d / "sub" / "reel.mid")
    jig = piece_from_stream(corpus.parse("ryansMammoth/BannocksOBarleyMealJig.abc"), "Bannocks")
    assert jig.time_signature == (6, 8)
    write_midi(jig, d / "six8.mid")
    # type 1: the reel's melody, a bass line an octave and a fifth below, and a drum track
    n = len(reel)
    mel = reel.notes
    multi = Piece.from_arrays(
        np.r_[mel["onset_tick"], mel["onset_tick"][::4], np.arange(0, int(mel["onset_tick"].max()), 480)],
        np.r_[
            mel["duration_tick"],
            np.full(len(mel[::4]), 480),
            np.full(len(np.arange(0, int(mel["onset_tick"].max()), 480)), 120),
        ],
        np.r_[mel["pitch"], mel["pitch"][::4] - 19, np.full(len(np.arange(0, int(mel["onset_tick"].max()), 480)), 36)],
        track=np.r_[
            np.zeros(n), np.ones(len(mel[::4])), np.full(len(np.arange(0, int(mel["onset_tick"].max()), 480)), 2)
        ].astype(int),
        tracks=[Track("violin", 40), Track("cello", 42), Track("drums", 0, True)],
        time_signatures=reel.time_signatures,
    )
    write_midi(multi, d / "multi.mid")
    good = (d / "sub" / "reel.mid").read_bytes()
    (d / "corrupt.mid").write_bytes(good[:40] + b"\x00garbage" * 8)
    (d / "empty.mid").write_bytes(b"")
    (d / "text.mid").write_text("this is not a MIDI file\n")
    s = symusic.Score(480)
    s.tracks.append(symusic.Track("silent", 40, False))
    (d / "nonotes.mid").write_bytes(bytes(s.dumps_midi()))
    (d / "notes.txt").write_text("not music, not a music suffix: ignored")
    (d / ".hidden.mid").write_bytes(good)
    return d


def _run(args):
    from typer.testing import CliRunner

    from musicgen.cli import app  # every command registered

    return CliRunner().invoke(app, [str(a) for a in args], terminal_width=200)


def test_folder_with_bad_files(folder, tmp_path):
    import mido
    import muspy

    assert mido.MidiFile(folder / "multi.mid").type == 1 and len(mido.MidiFile(folder / "multi.mid").tracks) == 3
    out = tmp_path / "r.json"
    r = _run(["evaluate", folder, "--json", out])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    for name, reason in BAD.items():
        assert f"{folder / name}: {reason}" in r.output
    assert "3 files evaluated, 4 failed" in r.output
    rep = json.loads(out.read_text())
    paths = [f["path"] for f in rep["files"]]
    assert paths == sorted(paths) and len(paths) == 7  # .txt and hidden file skipped
    by = {f["path"][len(str(folder)) + 1 :]: f for f in rep["files"]}
    for name, reason in BAD.items():
        f = by[name]
        assert f["error"] == reason and f["error_detail"]
        assert all(f[k] is None for k in METRICS)
    for name in GOOD:
        f = by[name]
        assert f["error"] is None
        ref = muspy.pitch_class_entropy(muspy.read_midi(str(folder / name)))
        assert abs(f["pce"] - ref) <= 1e-9
        assert isinstance(f["theme_count"], int) and f["theme_count"] >= 0
        assert 0 < f["scale_consistency"] <= 1 and f["n_notes"] > 50
    # drums are not pitched: the multi-track file's PCE is that of violin + cello
    assert by["multi.mid"]["polyphony"] > 1.0
    assert by["six8.mid"]["n_bars"] == read_piece(folder / "six8.mid").n_bars
    # summary = statistics over the evaluated files
    for k in ("pce", "theme_count", "empty_beat_rate"):
        vals = np.array([by[g][k] for g in GOOD], dtype=float)
        s = rep["summary"][k]
        assert s["n"] == 3
        assert s["mean"] == pytest.approx(vals.mean()) and s["std"] == pytest.approx(vals.std())
        assert s["min"] == vals.min() and s["max"] == vals.max()


def test_exit_codes_and_outputs(folder, tmp_path):
    bad_only = [folder / n for n in BAD]
    r = _run(["evaluate", *bad_only])
    assert r.exit_code == 1 and "Traceback" not in r.output
    r = _run(["evaluate", tmp_path / "nowhere"])
    assert r.exit_code == 2 and "no such file or folder" in r.output
    r = _run(["evaluate", folder, "--workers", "0"])
    assert r.exit_code == 2
    r = _run(["evaluate", folder, "--rules", "no_such_rules"])
    assert r.exit_code == 2 and "unknown rule set" in r.output
    # outputs are never overwritten without --force
    js, cs = tmp_path / "a.json", tmp_path / "a.csv"
    js.write_text("keep")
    r = _run(["evaluate", folder / "six8.mid", "--json", js, "--csv", cs])
    assert r.exit_code == 2 and js.read_text() == "keep" and not cs.exists()
    r = _run(["evaluate", folder / "six8.mid", "--json", js, "--csv", cs, "--force"])
    assert r.exit_code == 0
    assert json.loads(js.read_text())["files"][0]["path"] == str(folder / "six8.mid")
    lines = cs.read_text().splitlines()
    header = lines[0].split(",")
    assert (
        header[0] == "path" and header[-2:] == ["error", "error_detail"] and "pce" in header and "theme_count" in header
    )
    assert len(lines) == 2
    # a file named on the command line with an unsupported suffix is reported, not skipped
    odd = tmp_path / "tune.wav"
    odd.write_bytes(b"RIFF")
    rep = evaluate_paths([odd, folder / "six8.mid"])
    errors = {f["path"]: f["error"] for f in rep["files"]}
    assert errors == {str(odd): "unsupported", str(folder / "six8.mid"): None}
    assert [f["path"] for f in rep["files"]] == sorted(errors)


def test_progress_bar_only_on_a_terminal():
    import io

    from rich.console import Console

    from musicgen.cli.progress import transient_progress

    # off a terminal a transient bar shows nothing: none is made
    with transient_progress("evaluating", Console(file=io.StringIO())) as progress:
        assert progress is None
    out = io.StringIO()
    with transient_progress("evaluating", Console(file=out, force_terminal=True)) as progress:
        progress(3, 10)
    assert "evaluating" in out.getvalue()


def test_workers_give_the_same_report(folder):
    one = evaluate_paths([folder], workers=1)
    two = evaluate_paths([folder], workers=2, batch_size=2)
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)


def test_rule_scores_join_the_report(folder):
    rep = evaluate_paths([folder / "six8.mid", folder / "empty.mid"], rules="violin")
    good = next(f for f in rep["files"] if f["error"] is None)
    rules = [k for k in good if k.startswith("rule_")]
    assert set(rules) == {"rule_range", "rule_polyphony", "rule_rests", "rule_chord_tones"}
    assert good["r_f"] == pytest.approx(sum(good[k] for k in rules))
    assert "r_f" in rep["summary"] and rep["summary"]["r_f"]["n"] == 1
    bad = next(f for f in rep["files"] if f["error"] is not None)
    assert bad["r_f"] is None and list(bad)[-2:] == ["error", "error_detail"]


def test_evaluate_pieces_matches_metric_functions(folder):
    pieces = [read_piece(folder / g) for g in GOOD]
    rows = evaluate_pieces(pieces)
    for p, row in zip(pieces, rows):
        assert row["pce"] == pitch_class_entropy(p)
        assert row["scale_consistency"] == scale_consistency(p)
        assert row["theme_count"] == theme_count(p)
        tc = theme_counts(p)
        assert [row[f"themes_{w}bars"] for w in (4, 8, 16, 32)] == [tc[w] for w in (4, 8, 16, 32)]
    assert evaluate_pieces([]) == []


def test_discovery_and_report_helpers(folder):
    files = discover_files([folder, folder / "six8.mid"])
    names = [str(f)[len(str(folder)) + 1 :] for f in files]
    assert names == sorted(names) and "six8.mid" in names and names.count("six8.mid") == 1
    assert ".hidden.mid" not in names and "notes.txt" not in names and "sub/reel.mid" in names
    s = metric_summary([{"a": 1.0}, {"a": None}, {"a": 3.0}], ["a", "b"])
    assert s["a"] == {"mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0, "n": 2}
    assert s["b"] == {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    rep = {
        "files": [{"path": "x.mid", "pce": 1.5, "theme_count": 2, "error": None, "error_detail": None}],
        "summary": {},
    }
    assert report_to_csv(rep).splitlines() == ["path,pce,theme_count,error,error_detail", "x.mid,1.5,2,,"]
    assert not math.isnan(rep["files"][0]["pce"])


def test_summarise_matches_a_direct_computation():
    rows = [
        {"a": 1, "b": 2.5, "c": None, "path": "x"},
        {"a": None, "b": float("nan"), "c": None, "path": "y"},
        {"a": 4, "b": -1.0, "c": None, "path": "z"},
        {"a": 7, "b": float("inf"), "path": "w"},  # a missing key counts as null
        {"a": 10, "b": 0.1, "c": 3},
    ]
    s = metric_summary(rows, ["a", "b", "c", "d"])
    for col, vals in (("a", [1.0, 4.0, 7.0, 10.0]), ("b", [2.5, -1.0, 0.1]), ("c", [3.0])):
        arr = np.array(vals)
        assert s[col] == {
            "mean": float(arr.mean()),
            "std": float(arr.std()),
            "min": min(vals),
            "max": max(vals),
            "n": len(vals),
        }, col
    assert s["d"]["n"] == 0 and s["d"]["mean"] is None
    # a text column among the summarised ones is an error, as before
    with pytest.raises(ValueError):
        metric_summary([{"a": "text"}], ["a"])
    assert metric_summary([], ["a"]) == {"a": {"mean": None, "std": None, "min": None, "max": None, "n": 0}}


def test_discovery_spells_paths_as_given(folder, monkeypatch):
    monkeypatch.chdir(folder)
    assert [str(p) for p in discover_files(["sub", "sub/", "./sub/reel.mid"])] == ["sub/reel.mid"]
    absolute = discover_files([str(folder) + "/"])
    assert all(p.is_absolute() and p.exists() for p in absolute) and len(absolute) == len(GOOD) + len(BAD)


MIDI_SET = Path(__file__).resolve().parent / "data" / "midi_set"
STORED_REPORT = Path(__file__).resolve().parent / "data" / "midi_set_report.json"


def _same_value(got, want, where) -> None:
    """Equal values: ints and strings exactly, floats to 1e-12 relative (numpy versions may round
    sums differently), nulls as nulls."""
    if isinstance(want, float) and isinstance(got, float):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12), where
    else:
        assert got == want and type(got) is type(want), where


def test_report_of_the_fixed_midi_set_is_unchanged():
    # tests/data/midi_set_report.json was written by tests/data/make_midi_set.py --report before the
    # MIDI reader was rewritten; any change of a value (or a reason) is a change of results
    stored = json.loads(STORED_REPORT.read_text())
    rep = json.loads(report_to_json(evaluate_paths([MIDI_SET])))
    for row in rep["files"]:
        row["path"] = Path(row["path"]).name
    assert [r["path"] for r in rep["files"]] == [r["path"] for r in stored["files"]]
    for got, want in zip(rep["files"], stored["files"]):
        assert list(got) == list(want), want["path"]
        for k, v in want.items():
            if k == "error_detail" and v and "(" in v:  # the parser's own wording may change
                assert got[k].split("(")[0] == v.split("(")[0], (want["path"], k)
            else:
                _same_value(got[k], v, (want["path"], k))
    assert list(rep["summary"]) == list(stored["summary"])
    for col, s in stored["summary"].items():
        for k, v in s.items():
            _same_value(rep["summary"][col][k], v, ("summary", col, k))


def test_fixed_midi_set_pce_is_muspy_exactly():
    # miditoolkit_1390.mid repeats note-offs of notes that already ended: MusPy (mido) and symusic
    # pair such note events differently (MusPy reads 17 notes more), so only the PCE of the notes
    # both read can agree; every other file must give MusPy's value exactly
    import muspy

    rep = evaluate_paths([MIDI_SET])
    checked = 0
    for row in rep["files"]:
        if row["error"] is not None:
            continue
        m = muspy.read_midi(row["path"])
        ref = muspy.pitch_class_entropy(m)
        if Path(row["path"]).name == "miditoolkit_1390.mid":
            assert sum(len(t.notes) for t in m.tracks) == row["n_notes"] + 17
            continue
        assert row["pce"] == ref, row["path"]
        checked += 1
    assert checked == 17


@pytest.mark.parametrize(
    "report",
    [
        {"files": [], "summary": {}},
        {"files": [{}], "summary": {"a": {}}},
        {
            "files": [{"path": 'é/ü\u2603"x\\\n', "a": 1, "b": None, "c": True, "d": 1e300, "e": -0.0, "f": 2**70}],
            "summary": {"pce": {"mean": None, "n": 0}},
        },
        {"files": [{"path": "x", "nested": [1, 2]}], "summary": {}},
        {"files": [{"path": "x"}], "summary": {"a": {"mean": 1.5}}, "extra": 1},
        {"files": [{"path": "x"}], "summary": {3: {"mean": 1.5}}},
        {"files": [{"pa%th": "x%s", "a": 1}, {"pa%th": "y", "a": 2.5}, {"b": None}, {}, {"a": [1]}], "summary": {}},
        {"files": [{1: 2}], "summary": {}},
    ],
)
def test_report_json_is_exactly_what_json_writes(report):
    assert report_to_json(report) == json.dumps(report, indent=1, allow_nan=False) + "\n"


def test_report_json_of_a_real_report_and_bad_values(folder):
    rep = evaluate_paths([folder, MIDI_SET], rules="violin")
    assert report_to_json(rep) == json.dumps(rep, indent=1, allow_nan=False) + "\n"
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            report_to_json({"files": [{"path": "x", "pce": bad}], "summary": {}})
    with pytest.raises(TypeError):
        report_to_json({"files": [{"path": "x", "pce": np.float32(1.0)}], "summary": {}})
