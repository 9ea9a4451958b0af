"""``musicgen data``: build and inspect the cached fiddle corpus."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table

from musicgen.cli.base import app, console, err_console
from musicgen.cli.progress import progress_bar

data_app = typer.Typer(
    help="Build and inspect the fiddle corpus (music21's ryansMammoth, oneills1850, airdsAirs).", no_args_is_help=True
)
app.add_typer(data_app, name="data")


@data_app.command("build")
def build(
    out: Path | None = typer.Option(
        None, "--out", help="Output .npz (default: the user cache, see `musicgen data info`)."
    ),
    collection: list[str] | None = typer.Option(
        None, "--collection", "-c", help="Only these collections (repeatable)."
    ),
    workers: int = typer.Option(
        max(1, min(4, os.cpu_count() or 1)), "--workers", "-j", min=1, help="Parsing processes."
    ),
    limit_files: int | None = typer.Option(
        None, "--limit-files", min=1, help="Only the first N ABC files per collection (quick look)."
    ),
    limit_tunes: int | None = typer.Option(
        None, "--limit-tunes", min=1, help="Only the first N tunes of each ABC file (quick look)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing corpus file."),
) -> None:
    """Convert music21's fiddle tunes into the cached dataset (grids + metadata + derived emotion labels).

    Takes a few minutes (music21 parses ABC at ~0.1 s a tune); run it once.
    """
    from musicgen.corpus import COLLECTIONS, build_corpus
    from musicgen.paths import default_corpus_path

    target = out or default_corpus_path()
    with progress_bar("converting ABC files", err_console) as bar:
        task = bar.add_task("converting ABC files", total=None)

        def cb(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        rep = build_corpus(
            target,
            collections=collection or COLLECTIONS,
            workers=workers,
            limit_files=limit_files,
            limit_tunes_per_file=limit_tunes,
            force=force,
            progress=cb,
        )
    t = Table(title=f"corpus written to {rep.path}")
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_row("tunes kept", str(rep.kept))
    for c, n in sorted(rep.by_collection.items()):
        t.add_row(f"  from {c}", str(n))
    for s in ("train", "valid", "test"):
        t.add_row(f"  {s} split", str(rep.by_split.get(s, 0)))
    t.add_row("tunes skipped", str(sum(rep.skipped.values())))
    for reason, n in rep.skipped.most_common():
        t.add_row(f"  {reason}", str(n))
    console.print(t)


@data_app.command("info")
def info(path: Path | None = typer.Argument(None, help="Corpus file (default: the user cache).")) -> None:
    """Summarise a built corpus: counts per collection, split, meter, mode, tune type and derived emotion."""
    from musicgen.corpus import Corpus, corpus_counts

    c = Corpus.load(path)
    console.print(f"[bold]{c.path}[/]: {len(c)} tunes")
    for k, counts in corpus_counts(c).items():
        t = Table(title=k)
        t.add_column(k)
        t.add_column("tunes", justify="right")
        for name, n in list(counts.items())[:15]:
            t.add_row(str(name), str(n))
        console.print(t)
