"""Named SQL queries, loaded once from each package's `sql/*.sql` (a `-- name: <query>` header per query).

Each stage keeps the SQL it runs in its own package (`shared/<stage>/sql/`); a function's bundle carries the
packages it imports, so it finds exactly their queries.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_HEADER = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse(text: str) -> dict[str, str]:
    """Split a file of named queries into {name: sql}; the line after the header is its description."""
    found: dict[str, str] = {}
    parts = _HEADER.split(text)
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in found:
            raise ValueError(f"query {name!r} is defined twice")
        lines = [line for line in body.strip().splitlines() if not line.lstrip().startswith("--")]
        found[name] = "\n".join(lines).strip().rstrip(";")
    return found


@functools.cache
def _all() -> dict[str, str]:
    merged: dict[str, str] = {}
    shared = Path(__file__).resolve().parent.parent
    for entry in sorted(shared.glob("**/sql/*.sql"), key=lambda e: e.relative_to(shared).as_posix()):
        for name, sql in parse(entry.read_text(encoding="utf-8")).items():
            if name in merged:
                raise ValueError(f"query {name!r} is defined in two files")
            merged[name] = sql
    return merged


def get(name: str) -> str:
    """The SQL of a named query; a KeyError names the query that does not exist."""
    try:
        return _all()[name]
    except KeyError:
        raise KeyError(f"no SQL query named {name!r} in shared/*/sql") from None
