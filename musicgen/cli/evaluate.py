"""``musicgen evaluate``: metrics over MIDI / MusicXML / ABC files and folders (registered on the app)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from musicgen.cli.base import app, console, err_console, error_line, print_error
from musicgen.errors import MusicgenError


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


@app.command("evaluate")
def evaluate_cmd(
    paths: list[Path] = typer.Argument(
        ...,
        help="Files and folders (folders are searched recursively for .mid .midi .xml .musicxml .mxl .abc).",
        show_default=False,
        metavar="PATH",
    ),
    json_out: Path | None = typer.Option(
        None, "--json", metavar="FILE", help="Write the per-file report (and summary) as JSON."
    ),
    csv_out: Path | None = typer.Option(None, "--csv", metavar="FILE", help="Write the per-file report as CSV."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, help="Processes to use (results keep sorted path order)."),
    rules: str | None = typer.Option(
        None,
        "--rules",
        "-r",
        metavar="NAME|PATH",
        help="Add rule scores (rule_<name>, r_f) from a shipped rule set or a .toml file.",
    ),
    plot: Path | None = typer.Option(
        None, "--plot", metavar="FILE", help="Draw the distribution of each metric as a PNG (one panel per metric)."
    ),
    against: Path | None = typer.Option(
        None,
        "--against",
        metavar="REF",
        help="With --plot: evaluate this reference file or folder too and overlay it (same bins), e.g. real music against generated.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing --json / --csv files."),
) -> None:
    """Score music files: pitch-class entropy (MusPy's), themes, scale consistency, polyphony, pitch range, rest ratio, note density and more.

    Prints mean / std / min / max per metric and lists the files that could not be evaluated (corrupt, empty, no notes, unsupported). Exit status: 0 when at least one file was evaluated, 1 when none could be, 2 for usage errors.

    Examples:

      musicgen evaluate generated/

      musicgen evaluate tunes/ more.mid --json report.json --csv report.csv --workers 4

      musicgen evaluate generated/ --rules violin

      musicgen evaluate generated/ --plot metrics.png --against corpus_midi/
    """
    from musicgen._files import atomic_write_text, check_writable
    from musicgen.cli.progress import transient_progress
    from musicgen.evaluate import METRICS, _ruleset, evaluate_paths, report_to_csv, report_to_json

    try:
        outs = [p for p in (json_out, csv_out) if p is not None]
        if len(outs) == 2 and json_out.resolve() == csv_out.resolve():
            raise _usage("--json and --csv name the same file")
        for p in outs:
            check_writable(p, force)
        for p in paths:
            if not p.exists():
                raise _usage(f"{p}: no such file or folder")
        if rules is not None:
            _ruleset(rules)
        if against is not None and plot is None:
            raise _usage("--against draws a comparison: give --plot OUT.png with it")
        if plot is not None:
            if plot.suffix.lower() != ".png":
                raise _usage(f"--plot {plot}: expected a .png file name")
            check_writable(plot, force)
        if against is not None and not against.exists():
            raise _usage(f"--against {against}: no such file or folder")
    except MusicgenError as exc:
        print_error(exc)
        raise typer.Exit(2) from None

    with transient_progress("evaluating", err_console) as progress:
        try:
            report = evaluate_paths([str(p) for p in paths], workers=workers, rules=rules, progress=progress)
        except MusicgenError as exc:
            print_error(exc)
            raise typer.Exit(exc.exit_code) from None

    files = report["files"]
    ok = [f for f in files if f["error"] is None]
    bad = [f for f in files if f["error"] is not None]

    if ok:
        table = Table(
            title=f"{len(ok)} file{'s' if len(ok) != 1 else ''} evaluated" + (f", {len(bad)} failed" if bad else "")
        )
        for col, just in (
            ("metric", "left"),
            ("mean", "right"),
            ("std", "right"),
            ("min", "right"),
            ("max", "right"),
            ("n", "right"),
            ("unit", "left"),
        ):
            table.add_column(col, justify=just, style="dim" if col == "unit" else None)
        for key, s in report["summary"].items():
            unit = METRICS[key][0] if key in METRICS else ("rule score" if key.startswith("rule_") else "R_F")
            table.add_row(key, _fmt(s["mean"]), _fmt(s["std"]), _fmt(s["min"]), _fmt(s["max"]), str(s["n"]), unit)
        console.print(table)
    if bad:
        console.print(f"[bold]could not evaluate {len(bad)} file{'s' if len(bad) != 1 else ''}:[/]")
        for f in bad:
            console.print(
                Text.assemble(f"  {f['path']}: ", (f["error"], "red"), f" — {error_line(f['error_detail'])}"),
                highlight=False,
                soft_wrap=True,
            )
    if not files:
        err_console.print("no music files found (looked for .mid .midi .xml .musicxml .mxl .abc)")

    try:
        if json_out is not None:
            atomic_write_text(json_out, report_to_json(report), force)
            err_console.print(f"wrote {json_out}")
        if csv_out is not None:
            atomic_write_text(csv_out, report_to_csv(report), force)
            err_console.print(f"wrote {csv_out}")
    except MusicgenError as exc:
        print_error(exc)
        raise typer.Exit(exc.exit_code) from None

    if plot is not None and ok:
        from musicgen.plot import plot_metrics

        try:
            label = str(paths[0]) + (f" +{len(paths) - 1}" if len(paths) > 1 else "")
            reports = [(label, report)]
            if against is not None:
                with err_console.status(f"evaluating {against}..."):
                    reports.append((str(against), evaluate_paths([str(against)], workers=workers, rules=rules)))
            with err_console.status(f"drawing {plot}..."):
                plot_metrics(reports, plot, force=force)
            err_console.print(f"wrote {plot}")
        except MusicgenError as exc:
            print_error(exc)
            raise typer.Exit(exc.exit_code) from None

    if not ok:
        raise typer.Exit(1)


def _usage(message: str) -> MusicgenError:
    from musicgen.errors import UsageError

    return UsageError(message)
