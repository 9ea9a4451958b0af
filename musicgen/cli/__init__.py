"""The ``musicgen`` command line. Thin: it parses, calls the library, prints.

Each command lives in its own module, which registers on the Typer app of :mod:`musicgen.cli.base`.
``musicgen.cli.app`` is that app with every command registered; the console script imports only the
module of the command it runs (``musicgen evaluate`` starts without the model, emotion or plotting code).
"""

from __future__ import annotations

import gc
import importlib
import sys

import typer

from musicgen.cli.base import err_console, print_error
from musicgen.errors import MusicgenError

#: The commands, in the order ``musicgen --help`` lists them, each with the module that registers it.
COMMANDS = ("data", "evaluate", "rules", "train", "generate", "emotion", "interact", "render")

#: Click's base class of command-line errors (Typer ships its own copy of Click in newer versions).
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def load_commands(names: tuple[str, ...] | list[str] = COMMANDS) -> typer.Typer:
    """Register the commands ``names`` (default: all) on the app and return it.

    Raises:
        ValueError: a name that is not one of :data:`COMMANDS`.
    """
    for name in names:
        if name not in COMMANDS:
            raise ValueError(f"no musicgen command {name!r}; commands: {', '.join(COMMANDS)}")
        importlib.import_module(f"musicgen.cli.{name}")
    from musicgen.cli.base import app

    return app


def __getattr__(name: str):
    if name == "app":
        return load_commands()
    raise AttributeError(f"module 'musicgen.cli' has no attribute {name!r}")


def main() -> None:
    """Console-script entry point: run the app; every error prints as one line, with no traceback.

    User errors (:class:`MusicgenError`) and command-line usage errors (Click's: a bad option value,
    a missing argument) are printed as one unwrapped ``error: ...`` line on stderr; the exit status
    is the error's (1, or 2 for usage errors; 130 when interrupted).
    """
    args = sys.argv[1:]
    app = load_commands([args[0]] if args and args[0] in COMMANDS else COMMANDS)
    # the objects of the modules imported so far live as long as the process: leave them out of the
    # garbage collector's full passes, which a command that makes many objects would otherwise
    # trigger (``musicgen evaluate`` of a few thousand files spends ~10 ms in one)
    gc.freeze()
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
