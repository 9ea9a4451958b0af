"""One progress-bar style for every long command."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def progress_bar(description: str, console: Console, transient: bool = False) -> Progress:
    """A Rich progress bar (spinner, description, bar, n/total, elapsed, ETA) on ``console`` (use as a context manager)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


@contextmanager
def transient_progress(description: str, console: Console) -> Iterator[Callable[[int, int], None] | None]:
    """A transient :func:`progress_bar` on ``console``, as a callback ``progress(done, total)``.

    Off a terminal a transient bar shows nothing at all: there it yields None and makes no bar.
    """
    if not console.is_terminal:
        yield None
        return
    with progress_bar(description, console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress
