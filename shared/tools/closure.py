"""What one function needs at run time, computed from its imports: our modules, their SQL, the packages.

A function's bundle ships its entry point, every module of `shared` that the entry point reaches through its
imports (module-level and inside functions: a lazy import runs in production too), each reached package's named
SQL and static files, and only the distributions those modules import, with what they depend on. So the ingest function no
longer carries the report stage's matplotlib and reportlab, nor the operator tooling.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PACKAGE = "shared"


@dataclass(frozen=True)
class Closure:
    """The modules of `shared` a function reaches (dotted names) and the top-level names it imports otherwise."""

    modules: frozenset[str]
    imports: frozenset[str]

    def files(self, root: Path) -> list[Path]:
        """Our files to ship, relative to root: each module, every package `__init__` on its path, and the named
        SQL and the `static/` files (a web page's) of every reached package."""
        found: set[Path] = set()
        for module in self.modules:
            path = _module_path(root, module)
            found.add(path.relative_to(root))
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                package = root.joinpath(*parts[:depth])
                if (package / "__init__.py").is_file():
                    found.add((package / "__init__.py").relative_to(root))
                    found.update(p.relative_to(root) for p in (package / "sql").glob("*.sql"))
                    found.update(p.relative_to(root) for p in (package / "static").rglob("*") if p.is_file())
        typed = root / PACKAGE / "py.typed"
        if typed.is_file():
            found.add(typed.relative_to(root))
        return sorted(found)


def _module_path(root: Path, module: str) -> Path:
    base = root.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _is_module(root: Path, module: str) -> bool:
    base = root.joinpath(*module.split("."))
    return (base / "__init__.py").is_file() or base.with_suffix(".py").is_file()


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules of ours, other top-level names) that one file imports, wherever in the file."""
    ours: set[str] = set()
    others: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (ours if alias.name.split(".")[0] == PACKAGE else others).add(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == PACKAGE:
                ours.add(node.module)
                ours.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                others.add(node.module)
    return ours, {name.split(".")[0] for name in others}


def of(source: Path, root: Path) -> Closure:
    """Every module of `shared` that `source` reaches, and every other top-level name they import."""
    modules: set[str] = set()
    others: set[str] = set()
    pending = [source]
    while pending:
        ours, theirs = _imports(pending.pop())
        others |= theirs
        for name in ours:
            if name in modules or not _is_module(root, name):
                continue  # `from shared.x import name` where name is not a module: x itself is already queued
            modules.add(name)
            pending.append(_module_path(root, name))
    stdlib = set(sys.stdlib_module_names) | {"__future__", PACKAGE, "functions"}
    return Closure(frozenset(modules), frozenset(others - stdlib))


@cache
def _distributions_of() -> dict[str, list[str]]:
    return {name: list(dists) for name, dists in metadata.packages_distributions().items()}


def distributions(imports: frozenset[str]) -> set[str]:
    """The installed distributions (canonical names) that provide these top-level import names."""
    found: set[str] = set()
    for name in imports:
        for dist in _distributions_of().get(name, []):
            found.add(canonicalize_name(dist))
    return found


def root_requirements(project_requires: list[Requirement], imports: frozenset[str]) -> list[Requirement]:
    """The project's own requirements (with the extras it asks for) whose distributions these imports use."""
    used = distributions(imports)
    return [req for req in project_requires if canonicalize_name(req.name) in used]
