"""Command-line errors are one unwrapped line on stderr with the whole path, at any terminal width."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(*args: str, columns: int = 20) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS=str(columns), LINES="10")
    return subprocess.run(
        [sys.executable, "-c", "from musicgen.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def deep(tmp_path):
    """A long existing folder path (400+ characters, names with spaces and brackets) for outputs."""
    d = tmp_path
    for i in range(6):
        d = d / f"[take {i}] a rather long folder name for the tests {'x' * 40}"
    d.mkdir(parents=True)
    assert len(str(d)) > 400
    return d


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("columns", [20, 80])
def test_missing_output_folder_is_one_line_with_the_whole_path(deep, columns):
    out = deep / "no such folder" / "piece.mid"
    r = _run("generate", "--emotion", "happy", "-o", str(out), columns=columns)
    assert r.returncode == 2
    line = _one_error_line(r.stderr)
    assert str(out) in line and "does not exist" in line
    assert not out.parent.exists()


def test_missing_input_is_one_line_with_the_whole_path(deep):
    missing = deep / "[draft] tune.mid"
    r = _run("evaluate", str(missing))
    assert r.returncode == 2
    assert str(missing) in _one_error_line(r.stderr)
    r = _run("rules", "check", str(missing))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert any(str(missing) in ln for ln in r.stderr.splitlines())


def test_unreadable_file_in_a_folder_is_listed_on_one_line(deep):
    bad = deep / "broken [v2].mid"
    bad.write_text("not a MIDI file")
    r = _run("evaluate", str(deep))
    assert r.returncode == 1
    listed = [ln for ln in r.stdout.splitlines() if "corrupt" in ln]
    assert len(listed) == 1 and str(bad) in listed[0], r.stdout


def test_a_name_too_long_for_the_file_system_is_a_clear_error(tmp_path):
    out = tmp_path / ("n" * 300) / "piece.mid"
    r = _run("generate", "--emotion", "happy", "-o", str(out))
    assert r.returncode == 2
    assert str(out) in _one_error_line(r.stderr)


def test_usage_errors_are_one_line_too():
    r = _run("generate", "--emotion", "happy")  # no --output
    assert r.returncode == 2
    line = _one_error_line(r.stderr)
    assert "--output" in line and "musicgen generate --help" in line
    r = _run("no-such-command")
    assert r.returncode == 2 and "no-such-command" in _one_error_line(r.stderr)
    r = _run("--help", columns=80)
    assert r.returncode == 0 and "evaluate" in r.stdout and r.stderr == ""
