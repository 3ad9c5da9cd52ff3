"""The layers of crm/ (docs/architecture.md): imports only go down, and no module imports
itself back round a cycle, not even through an import inside a function."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

CRM = Path(__file__).resolve().parent.parent / "crm"

# Bottom to top. Packages in one tuple are side by side: neither imports the other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("common",),
    ("identity",),
    ("storage",),
    ("access",),
    ("lists",),
    ("records",),
    ("importing", "mailing", "analysis"),
    ("pipeline",),
    ("demo",),
    ("ui",),
    ("cli",),
    ("__main__",),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def _modules() -> dict[str, Path]:
    found = {}
    for path in CRM.rglob("*.py"):
        parts = ("crm", *path.relative_to(CRM).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Each module's crm modules, from every import statement anywhere in it."""
    def known(name: str) -> str:
        while name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crm"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else known(node.module))
            elif isinstance(node, ast.Import):
                targets |= {known(a.name) for a in node.names if a.name.startswith("crm.")}
        targets.discard(name)
    return graph


def _package(module: str) -> str:
    return module.split(".")[1] if "." in module else "crm"


def upward(graph: Mapping[str, set[str]]) -> list[str]:
    """Every import that goes up a layer or sideways into a neighbour package."""
    wrong = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            mine, theirs = _package(source), _package(target)
            if mine == theirs or theirs == "crm":
                continue
            if mine not in RANK or theirs not in RANK or RANK[theirs] >= RANK[mine]:
                wrong.append(f"{source} imports {target}")
    return wrong


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Import cycles between modules (depth-first search; each cycle reported once)."""
    found, done, path = [], set(), []

    def visit(module: str) -> None:
        if module in path:
            found.append([*path[path.index(module):], module])
            return
        if module in done:
            return
        path.append(module)
        for target in sorted(graph.get(module, ())):
            visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    return found


def test_every_package_has_a_layer():
    packages = {_package(m) for m in _modules()} - {"crm"}
    assert packages - set(RANK) == set()
    assert {p for p in RANK if p not in ("cli", "__main__")} <= packages


def test_imports_only_go_down():
    assert upward(_imports(_modules())) == []


def test_no_module_imports_itself_back():
    assert cycles(_imports(_modules())) == []


def test_the_checks_catch_what_they_are_for():
    """An upward import, a sideways one and a cycle are each found."""
    assert upward({"crm.storage.db": {"crm.records.leads"}}) == [
        "crm.storage.db imports crm.records.leads"]
    assert upward({"crm.mailing.sending": {"crm.importing.commit"}}) == [
        "crm.mailing.sending imports crm.importing.commit"]
    assert upward({"crm.records.leads": {"crm.storage.db", "crm.records.people"}}) == []
    assert cycles({"crm.a": {"crm.b"}, "crm.b": {"crm.c"}, "crm.c": {"crm.a"}}) == [
        ["crm.a", "crm.b", "crm.c", "crm.a"]]
