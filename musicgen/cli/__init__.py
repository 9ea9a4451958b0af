"""The ``musicgen`` command line. Thin: it parses, calls the library, prints.

Each command lives in its own module, which registers on :data:`musicgen.cli.app.app`.
"""

from __future__ import annotations

import sys

from musicgen.cli.app import app, err_console
from musicgen.errors import MusicgenError

# command modules (importing registers their commands)
from musicgen.cli import data as _data  # noqa: F401,E402
from musicgen.cli import evaluate as _evaluate  # noqa: F401,E402
from musicgen.cli import rules as _rules  # noqa: F401,E402
from musicgen.cli import train as _train  # noqa: F401,E402
from musicgen.cli import generate as _generate  # noqa: F401,E402
from musicgen.cli import emotion as _emotion  # noqa: F401,E402
from musicgen.cli import interact as _interact  # noqa: F401,E402


def main() -> None:
    """Console-script entry point: run the app; user errors print one line, no traceback."""
    try:
        app()
    except MusicgenError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


__all__ = ["app", "main"]
