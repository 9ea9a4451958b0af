"""User-facing errors.

Every error a user can cause (a bad file, a bad rule file, a bad stream line, a bad argument) is raised
as a :class:`MusicgenError` subclass whose message names the file (and line, where there is one) and
what was expected. The CLI prints the message alone, without a traceback, and exits with status 1
(or 2 for usage errors).
"""

from __future__ import annotations

from pathlib import Path


class MusicgenError(Exception):
    """Base class of every error that is the user's input, not a bug."""

    exit_code: int = 1


class UsageError(MusicgenError):
    """A bad command-line argument (exit status 2)."""

    exit_code = 2


class InputError(MusicgenError):
    """A file (optionally a line of it) that cannot be read as expected.

    Args:
        path: the offending file.
        message: what is wrong and what was expected.
        line: 1-based line number, when the problem has one.
        reason: a short machine-readable category ("corrupt", "empty", "no notes", "unsupported", ...).
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None, reason: str = "invalid"):
        self.path = str(path)
        self.line = line
        self.reason = reason
        self.detail = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class OutputExistsError(UsageError):
    """The output file exists and ``--force`` was not given."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        super().__init__(f"{path} already exists; pass --force to overwrite it")
