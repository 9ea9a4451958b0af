"""``musicgen rules list`` and ``musicgen rules check``: show rule sets, score files against them."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from musicgen.cli.base import app, console, err_console, error_line, print_line

rules_app = typer.Typer(
    help="Music-theory rule sets: list them, and check MIDI / MusicXML / ABC files against one.",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")


@rules_app.command("list")
def list_cmd(
    rules: list[str] | None = typer.Option(
        None, "--rules", "-r", help="Show only this rule set (a shipped name or a .toml path); repeatable."
    ),
) -> None:
    """Show the rule sets, their rules and weights (α per rule, β1 for R_F and β2 for the discriminator).

    Examples:

      musicgen rules list

      musicgen rules list --rules my_rules.toml
    """
    from musicgen.rules import RuleSet

    names = list(rules) if rules else RuleSet.list_available()
    for name in names:
        rs = RuleSet.load(name)
        lo, hi = rs.bounds
        t = Table(
            title=f"[bold]{rs.name}[/]: {rs.description}" if rs.description else f"[bold]{rs.name}[/]",
            caption=f"R_F = Σ α·score in [{lo:+.2f}, {hi:+.2f}];  score = {rs.beta_rules:g}·R_F + {rs.beta_disc:g}·D  (β1, β2)   {rs.path}",
        )
        for col in ("rule", "kind", "α", "reward", "penalty", "settings"):
            t.add_column(col, justify="right" if col in ("α", "reward", "penalty") else "left")
        for r in rs.rules:
            t.add_row(r.name, r.kind, f"{r.alpha:g}", f"{r.reward:+g}", f"{r.penalty:+g}", r.describe())
        console.print(t)


@rules_app.command("check")
def check_cmd(
    files: list[Path] = typer.Argument(..., help="MIDI (.mid), MusicXML (.xml/.musicxml/.mxl) or ABC (.abc) files."),
    rules: str = typer.Option(
        "violin", "--rules", "-r", help="Rule set: a shipped name (see `musicgen rules list`) or a .toml path."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the scores and violations as JSON here."),
    worst: int = typer.Option(5, "--worst", help="How many of the worst bars to show per file."),
    force: bool = typer.Option(False, "--force", help="Overwrite the --json file if it exists."),
) -> None:
    """Score files against a rule set: per-rule score, R_F, and the worst bars with the rules they break.

    A file that cannot be read is reported and the others go on; the exit status is 1 if any failed.

    Examples:

      musicgen rules check tune.mid

      musicgen rules check *.mid --rules melody --json scores.json
    """
    from rich.progress import Progress

    from musicgen._files import atomic_write_text, check_writable
    from musicgen.rule_check import check_files, check_report
    from musicgen.rules import RuleSet

    if json_out is not None:
        check_writable(json_out, force)
    rs = RuleSet.load(rules)
    with Progress(console=err_console, transient=True, disable=len(files) < 2) as progress:
        task = progress.add_task("checking", total=len(files))
        checks = check_files(files, rs, progress=lambda _p: progress.advance(task))
    for c in checks:
        if c.score is None:
            continue
        sc = c.score
        t = Table(title=f"{c.path}  ({rs.name} rules)", show_header=True)
        t.add_column("rule")
        t.add_column("score", justify="right")
        t.add_column("satisfied", justify="right")
        t.add_column("penalty .. reward", justify="right")
        for r in rs.rules:
            t.add_row(
                r.name,
                f"{sc.rules[r.name]:+.3f}",
                f"{100 * sc.satisfied[r.name]:.0f}%",
                f"{r.penalty:+g} .. {r.reward:+g}",
            )
        lo, hi = rs.bounds
        t.add_row("[bold]R_F[/]", f"[bold]{sc.r_f:+.3f}[/]", "", f"{lo:+.2f} .. {hi:+.2f}")
        console.print(t)
        key = f"{sc.key}{' (estimated)' if sc.key_estimated else ''}" if sc.key is not None else "none"
        console.print(
            f"key: {key}; chords: {'chord symbols, else estimated per bar' if sc.chord_symbols else 'estimated per bar'}",
            highlight=False,
        )
        bars = sc.worst_bars(worst)
        if not bars:
            console.print("no violations", style="green")
        else:
            nv = len(sc.violations)
            console.print(f"worst bars ({nv} violation{'s' if nv != 1 else ''} in all):", highlight=False)
            for bar, _cost, vs in bars:
                for v in vs[:4]:
                    console.print(f"  {v.message}  [dim][{v.rule}][/]", highlight=False)
                if len(vs) > 4:
                    console.print(f"  ... and {len(vs) - 4} more in bar {bar}", highlight=False)
        console.print()
    failed = [c for c in checks if c.error is not None]
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(check_report(checks, rs), indent=2) + "\n", force)
        err_console.print(f"wrote {json_out}", highlight=False)
    if failed:
        err_console.print(f"[bold red]{len(failed)} of {len(checks)} files failed:[/]")
        for c in failed:
            print_line(f"  {error_line(c.error)}", err_console)
        raise typer.Exit(1)
