"""The docs inside the repository stay true: the CLI reference matches the commands' help, no code cites a
file outside the repository, and the code passes the linter and formatter configured in pyproject.toml."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_cli_reference_is_up_to_date(capsys):
    """docs/cli.md is what docs/make_cli_reference.py writes from the current --help texts."""
    ns = runpy.run_path(str(REPO / "docs" / "make_cli_reference.py"))
    assert ns["main"](["--check"]) == 0, capsys.readouterr().err


def test_no_code_cites_a_file_outside_the_repository():
    """Comments and docstrings cite docs/ in this repository, never the design notes beside it."""
    bad = []
    for path in [
        *REPO.glob("musicgen/**/*.py"),
        *REPO.glob("benchmarks/*.py"),
        *REPO.glob("examples/*.py"),
        *REPO.glob("rules/*.toml"),
    ]:
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"DESIGN\.md|\.\./shared/DESIGN", line):
                bad.append(f"{path.relative_to(REPO)}:{no}: {line.strip()}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(args):
    """`ruff check .` and `ruff format --check .` pass with the configuration in pyproject.toml."""
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    r = subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
