"""The Typer application object that every command module registers on, and the console helpers."""

from __future__ import annotations

import typer
from rich.console import Console

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

#: Console for reports (stdout) and for messages and progress (stderr).
console = Console()
err_console = Console(stderr=True)
