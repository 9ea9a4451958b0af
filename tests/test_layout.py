"""The package's one-way layout: every import (at module level or inside a function) goes to the same or a
lower layer, and no group of modules imports itself round in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "musicgen"

#: Layers from the bottom up (docs/design.md §2). A unit is a top-level module or subpackage of musicgen.
LAYERS = [
    {"errors", "paths", "_files", "_toml", "_figure"},
    {"piece", "conditions"},
    {"grid", "io"},
    {"analysis"},
    {"metrics", "rules"},
    {"corpus", "evaluate", "rule_check"},
    {"model"},
    {"emotion"},
    {"perform", "continuation", "audio"},
    {"generation"},
    {"interact", "judge"},
    {"plot"},
    {"cli"},
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the musicgen modules it imports anywhere in its file."""
    out: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        mod = _module_name(path)
        deps = out.setdefault(mod, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and node.module.split(".")[0] == "musicgen"
            ):
                deps.add(node.module)
                for alias in node.names:  # "from musicgen.rules import soft" imports a module
                    if f"{node.module}.{alias.name}" in _all_modules():
                        deps.add(f"{node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] == "musicgen"}
    return out


_MODULES: set[str] = set()


def _all_modules() -> set[str]:
    if not _MODULES:
        _MODULES.update(_module_name(p) for p in PACKAGE.rglob("*.py"))
    return _MODULES


def _unit(mod: str) -> str | None:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the top-level package musicgen itself


def _layer(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"musicgen.{unit} is in no layer of tests/test_layout.py: place it")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """The imports of ``graph`` (module -> imported modules) that go to a higher layer."""
    out = []
    for mod, deps in graph.items():
        u = _unit(mod)
        if u is None:
            continue  # the top-level package's lazy exports sit above everything
        for dep in deps:
            d = _unit(dep)
            if d is None:
                out.append(f"{mod} imports the top-level package musicgen")
            elif d != u and _layer(d) > _layer(u):
                out.append(f"{mod} (layer {_layer(u)}) imports {dep} (layer {_layer(d)})")
    return sorted(out)


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules of ``graph`` that import each other round in a cycle (Tarjan's strongly
    connected components with more than one module, or a module importing itself)."""
    graph = {k: v for k, v in graph.items() if k != "musicgen"}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_every_import_goes_down_or_sideways():
    bad = upward_imports(_imports())
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycles():
    cycles = import_cycles(_imports())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_catch_a_cycle_and_an_upward_import():
    fake = {"musicgen.rules.engine": {"musicgen.model.api"}, "musicgen.model.api": {"musicgen.rules.engine"}}
    assert upward_imports(fake) == ["musicgen.rules.engine (layer 4) imports musicgen.model.api (layer 6)"]
    assert import_cycles(fake) == [["musicgen.model.api", "musicgen.rules.engine"]]
    assert import_cycles({"musicgen.a": {"musicgen.b"}, "musicgen.b": set()}) == []
