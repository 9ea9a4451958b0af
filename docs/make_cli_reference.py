"""Write docs/cli.md, the reference of every ``musicgen`` command, from the commands' own help texts.

python docs/make_cli_reference.py            # rewrites docs/cli.md
python docs/make_cli_reference.py --check    # exit 1 when docs/cli.md is out of date (the tests run this)
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "cli.md"


def _param_rows(cmd) -> list[str]:
    rows = []
    for p in cmd.params:
        if p.name == "help":
            continue
        if getattr(p, "param_type_name", "") == "argument":
            name = f"`{p.name.upper()}`"
        else:
            name = ", ".join(f"`{o}`" for o in p.opts + list(p.secondary_opts))
        text = " ".join((getattr(p, "help", None) or "").split())
        default = p.default
        if (
            getattr(p, "is_flag", False)
            or default in (None, (), [])
            or callable(default)
            or getattr(p, "required", False)
        ):
            extra = " (required)" if getattr(p, "required", False) else ""
        else:
            extra = f" Default: `{default}`."
        rows.append(f"| {name} | {text.replace('|', '/')}{extra} |")
    return rows


def _command_md(path: str, cmd, level: int) -> list[str]:
    out = [f"{'#' * level} `{path}`", ""]
    help_text = (cmd.help or "").strip()
    if help_text:
        out += [help_text, ""]
    sub = getattr(cmd, "commands", None)
    if sub:
        for name in sorted(sub):
            out += _command_md(f"{path} {name}", sub[name], level + 1)
        return out
    rows = _param_rows(cmd)
    if rows:
        out += ["| option | meaning |", "|---|---|", *rows, ""]
    return out


def render() -> str:
    """The markdown of the whole command tree."""
    import typer

    from musicgen.cli import app  # every command registered

    root = typer.main.get_command(app)
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands' own `--help` texts by `python docs/make_cli_reference.py`; "
        "`musicgen COMMAND --help` prints the same in a terminal.",
        "",
    ]
    lines += [(root.help or "").strip(), ""]
    for name in sorted(root.commands):
        lines += _command_md(f"musicgen {name}", root.commands[name], 2)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python docs/make_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
