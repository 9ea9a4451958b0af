"""The Typer application object that every command module registers on, and the console helpers."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(
    name="musicgen",
    help=(
        "Emotion-conditioned violin music: generate pieces in a mood, score them with music-theory rules, "
        "and evaluate MIDI collections.\n\n"
        "Start with:  musicgen generate --emotion happy -o first.mid"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root() -> None:
    # a callback keeps ``musicgen`` a group of commands even when the console script has registered
    # only the one it runs (Typer would otherwise make a lone command the whole program)
    pass


#: Console for reports (stdout) and for messages and progress (stderr).
console = Console()
err_console = Console(stderr=True)


def error_line(message: object) -> str:
    """``message`` as one line: its line breaks become spaces (a path is never cut or wrapped)."""
    return " ".join(str(message).splitlines()).strip()


def print_error(message: object) -> None:
    """Print ``error: <message>`` on stderr as exactly one line, whatever the terminal width.

    The text is never wrapped (Rich would break it at the terminal width, cutting a long path in
    two) and never read as Rich markup (a path may hold ``[...]``); line breaks inside the message
    become spaces.
    """
    err_console.print(Text.assemble(("error:", "bold red"), " ", error_line(message)), soft_wrap=True, highlight=False)


def print_line(text: str, on: Console | None = None) -> None:
    """Print ``text`` as it is on ``on`` (default stderr): never wrapped, never read as markup."""
    (on or err_console).print(Text(text), soft_wrap=True, highlight=False)
