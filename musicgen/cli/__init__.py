"""The ``musicgen`` command line. Thin: it parses, calls the library, prints.

Each command lives in its own module, which registers on :data:`musicgen.cli.app.app`.
"""

from __future__ import annotations

import sys

import typer

from musicgen.cli.app import app, err_console, print_error
from musicgen.errors import MusicgenError

# command modules (importing registers their commands)
from musicgen.cli import data as _data  # noqa: F401,E402
from musicgen.cli import evaluate as _evaluate  # noqa: F401,E402
from musicgen.cli import rules as _rules  # noqa: F401,E402
from musicgen.cli import train as _train  # noqa: F401,E402
from musicgen.cli import generate as _generate  # noqa: F401,E402
from musicgen.cli import emotion as _emotion  # noqa: F401,E402
from musicgen.cli import interact as _interact  # noqa: F401,E402
from musicgen.cli import render as _render  # noqa: F401,E402

#: Click's base class of command-line errors (Typer ships its own copy of Click in newer versions).
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main() -> None:
    """Console-script entry point: run the app; every error prints as one line, with no traceback.

    User errors (:class:`MusicgenError`) and command-line usage errors (Click's: a bad option value,
    a missing argument) are printed as one unwrapped ``error: ...`` line on stderr; the exit status
    is the error's (1, or 2 for usage errors; 130 when interrupted).
    """
    try:
        code = app(prog_name="musicgen", standalone_mode=False)
    except MusicgenError as exc:
        print_error(exc)
        sys.exit(exc.exit_code)
    except _CLICK_ERROR as exc:
        # no_args_is_help: Typer has printed the help already
        if type(exc).__name__ != "NoArgsIsHelpError":
            print_error(_click_error_line(exc))
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("interrupted")
        sys.exit(130)
    sys.exit(code if type(code) is int else 0)


def _click_error_line(exc: Exception) -> str:
    """Click's message, plus where to read the usage when the error belongs to a command."""
    ctx = getattr(exc, "ctx", None)
    hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
    return exc.format_message() + hint


__all__ = ["app", "main"]
