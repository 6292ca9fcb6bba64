"""The layout keeps its promises: no import cycles, no module over 400 lines, the platform core and the event
catalog know no stage, operator tooling never ends up in a function's bundle, and functions import only shared.

The import graph is read from the code with `ast` (module-level and function-level imports alike), so these
stay true as the code changes instead of being a picture in a document.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
STAGES = ("ingest", "validate", "aggregate", "refresh", "metrics", "dashboard", "report", "monitor")
Graph = dict[str, set[str]]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    """Every module of the graph: all of shared/ and the entry point of each function."""
    files = [*ROOT.glob("shared/**/*.py"), *ROOT.glob("functions/*/main.py")]
    return {_module_name(p): p for p in sorted(files)}


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: Iterable[str]) -> set[str]:
    """The project modules one import statement loads; `from a import b` names a.b when b is a module."""
    names = set(known)
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            anchor = package[: len(package) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in names else base for alias in node.names]
    found = set()
    for target in targets:
        while target and target not in names:  # `import shared.core.db.x` style: the longest known prefix
            target = target.rpartition(".")[0]
        if target:
            found.add(target)
    return found


def import_graph() -> Graph:
    """module -> the project modules it imports anywhere in its body."""
    sources = _sources()
    graph: Graph = {}
    for name, path in sources.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _imported(node, name, path.name == "__init__.py", sources)
        graph[name] = edges - {name}
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle path (first module repeated at the end) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_path(graph, set(group), group[0]) for group in groups]


def _cycle_path(graph: Mapping[str, set[str]], group: set[str], start: str) -> list[str]:
    """A shortest path from `start` back to itself inside one strongly connected group."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, set()) & group):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{start} is in a strongly connected group but on no cycle")


def _in(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def forbidden(graph: Mapping[str, set[str]], importers: Iterable[str], imported: Iterable[str]) -> list[str]:
    """Every `importer -> imported` edge from a module under `importers` to one under `imported`."""
    sources, targets = tuple(importers), tuple(imported)
    return sorted(
        f"{module} -> {target}"
        for module, edges in graph.items()
        if _in(module, *sources)
        for target in edges
        if _in(target, *targets)
    )


def oversized(paths: Iterable[Path], limit: int = MAX_LINES) -> list[str]:
    counted = ((p, len(p.read_text().splitlines())) for p in paths)
    return sorted(f"{p.relative_to(ROOT)}: {n} lines" for p, n in counted if n > limit)


STAGE_PACKAGES = tuple(f"shared.{stage}" for stage in STAGES)


def test_there_are_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(path) for path in found)


def test_no_module_is_over_400_lines() -> None:
    files = [p for folder in ("shared", "functions", "bench", "tests") for p in (ROOT / folder).rglob("*.py")]
    too_long = oversized(files)
    assert not too_long, f"modules over {MAX_LINES} lines (split them by job):\n" + "\n".join(too_long)


def test_the_core_and_the_catalog_know_no_stage_and_no_tooling() -> None:
    edges = forbidden(import_graph(), ["shared.core", "shared.catalog"], [*STAGE_PACKAGES, "shared.tools", "functions"])
    assert not edges, "the platform core and the catalog import a stage or tools:\n" + "\n".join(edges)


def test_no_stage_and_no_function_imports_the_tooling() -> None:
    edges = forbidden(import_graph(), [*STAGE_PACKAGES, "functions"], ["shared.tools"])
    assert not edges, "shared.tools would ship inside a function's bundle:\n" + "\n".join(edges)


def test_functions_import_only_shared() -> None:
    graph = import_graph()
    edges = sorted(f"{m} -> {t}" for m, ts in graph.items() if _in(m, "functions") for t in ts if not _in(t, "shared"))
    edges += forbidden(graph, ["shared"], ["functions"])
    assert not edges, "functions import only shared/, and shared/ never imports a function:\n" + "\n".join(edges)


def test_aggregate_reads_validate_messages_through_the_core() -> None:
    """The message contract between stages lives in shared.core.contracts, so a consumer never needs its producer."""
    edges = forbidden(import_graph(), ["shared.aggregate"], ["shared.validate"])
    assert not edges, "aggregate imports the validate stage:\n" + "\n".join(edges)


def test_the_checks_themselves_see_violations() -> None:
    """The helpers above report what they should, so a green run means something."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert forbidden({"shared.core.db": {"shared.tools.cli"}}, ["shared.core"], ["shared.tools"]) == [
        "shared.core.db -> shared.tools.cli"
    ]
    tree = ast.parse("from shared.core import db, settings\nfrom shared import core\nimport shared.core.db")
    known = {"shared", "shared.core", "shared.core.db"}
    found = set().union(
        *(_imported(n, "x", False, known) for n in tree.body if isinstance(n, ast.ImportFrom | ast.Import))
    )
    assert found == {"shared.core.db", "shared.core"}
