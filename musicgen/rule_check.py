"""Checking music files against a rule set (``musicgen rules check``): read each file, score it with the
rules engine, keep going past files that cannot be read, and report in JSON.

The rules engine itself (:mod:`musicgen.rules`) scores grids and Pieces and reads no files; this module
joins it to the readers of :mod:`musicgen.io`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from musicgen.errors import MusicgenError
from musicgen.io import read_piece
from musicgen.rules import DEFAULT_RULES, PieceScore, RuleSet


@dataclass
class FileCheck:
    """The result of checking one file: its score, or the error that stopped it."""

    path: str
    score: PieceScore | None = None
    error: str | None = None


def check_files(
    paths: Iterable[str | os.PathLike], rules: str | os.PathLike | RuleSet = DEFAULT_RULES, progress=None
) -> list[FileCheck]:
    """Read and score music files (MIDI, MusicXML, ABC) against a rule set.

    A file that cannot be read is recorded with its error and the others go on.

    Args:
        paths: the files.
        rules: a rule set, a shipped set name or a rule-file path.
        progress: optional callable called with each path after it is done.

    Returns:
        One :class:`FileCheck` per path, in order.

    Raises:
        InputError / UsageError: the rule set cannot be loaded.
    """
    rs = rules if isinstance(rules, RuleSet) else RuleSet.load(rules)
    out = []
    for p in paths:
        try:
            out.append(FileCheck(str(p), rs.score_piece(read_piece(p))))
        except MusicgenError as exc:
            out.append(FileCheck(str(p), error=str(exc)))
        if progress is not None:
            progress(p)
    return out


def check_report(checks: Sequence[FileCheck], rules: RuleSet) -> dict:
    """The JSON form of :func:`check_files` results:
    ``{"rule_set", "files": [{"path", "rules", "r_f", "violations", ...}], "failures": [{"path", "error"}]}``."""
    return {
        "rule_set": rules.name,
        "weights": {r.name: r.alpha for r in rules.rules},
        "files": [dict(path=c.path, **c.score.as_dict()) for c in checks if c.score is not None],
        "failures": [{"path": c.path, "error": c.error} for c in checks if c.error is not None],
    }


__all__ = ["FileCheck", "check_files", "check_report"]
