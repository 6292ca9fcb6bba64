"""Query results are read by column name, never by position (issue 13).

An AST scan of `shared/` and `functions/`: within each function (and at module level), a name bound from a
query result (`fetchone()`, `fetchall()`, `fetchmany()`, a cursor's `execute(...)`, the `shared.core.db.fetch_*`
helpers), or from iterating one in a `for` loop or a comprehension, is tainted. What is reported:

- an integer or slice subscript of a tainted name or of a result expression itself (`row[0]`, `rows[-1]`,
  `conn.execute(...).fetchone()[0]`, `r[1:]`);
- a tuple target bound from a result (`a, b = cur.fetchone()`, `for org, days in conn.execute(...)`);
- a result passed to `zip(...)` or unpacked with `*` into a call (`zip(COLUMNS, row)`, `Model(*row)`).

Out of scope (a deliberate limit, not an oversight): rows handed to another function and indexed there,
subscripts with a variable index (`row[i]`), and results stored on attributes. String subscripts
(`row["id"]`, `dict_row`) are reading by name and are fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("shared", "functions")

_RESULT_METHODS = frozenset({"fetchone", "fetchall", "fetchmany", "execute"})
_RESULT_HELPERS = frozenset({"fetch_one", "fetch_all", "fetch_scalar", "fetch_scalars"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _is_result(node: ast.AST, tainted: set[str]) -> bool:
    """Whether `node` evaluates to a query result (a row, the rows, or a cursor to iterate)."""
    if isinstance(node, ast.Name):
        return node.id in tainted
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and (func.attr in _RESULT_METHODS or func.attr in _RESULT_HELPERS):
            return True
        if isinstance(func, ast.Name) and func.id in {"list", "sorted", "reversed", "tuple", "iter", "next"}:
            return any(_is_result(a, tainted) for a in node.args)
    if isinstance(node, ast.IfExp):
        return _is_result(node.body, tainted) or _is_result(node.orelse, tainted)
    if isinstance(node, ast.BoolOp):
        return any(_is_result(v, tainted) for v in node.values)
    return False


def _is_positional(index: ast.expr) -> bool:
    if isinstance(index, ast.Slice):
        return True
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
        index = index.operand
    return isinstance(index, ast.Constant) and isinstance(index.value, int) and not isinstance(index.value, bool)


def _names(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _scope_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of one scope, without those of the functions nested in it (they are scopes of their own)."""
    found: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        found.append(node)
        if not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))
    return found


def _bindings(node: ast.AST) -> list[tuple[ast.expr, ast.expr]]:
    """(target, value) pairs a node binds; for loops and comprehensions the value is what is iterated."""
    if isinstance(node, ast.Assign):
        return [(t, node.value) for t in node.targets]
    if isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
        return [(node.target, node.value)]
    if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
        return [(node.target, node.iter)]
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [(node.optional_vars, node.context_expr)]
    return []


def positional_reads(source: str) -> list[tuple[int, str]]:
    """(line, code) of every positional read of a query result in `source` (see the module docstring)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found: set[int] = set()
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, _SCOPES))]:
        nodes = _scope_nodes(scope)
        tainted: set[str] = set()
        changed = True
        while changed:  # to a fixpoint: `rows = ...fetchall()` then `for r in rows` taints r
            changed = False
            for node in nodes:
                for target, value in _bindings(node):
                    if _is_result(value, tainted):
                        new = set(_names(target)) - tainted
                        if new:
                            tainted |= new
                            changed = True
        for node in nodes:
            if isinstance(node, ast.Subscript) and _is_positional(node.slice) and _is_result(node.value, tainted):
                found.add(node.lineno)
            for target, value in _bindings(node):
                if isinstance(target, ast.Tuple | ast.List) and _is_result(value, tainted):
                    found.add(target.lineno)
            if isinstance(node, ast.Call):
                zipped = isinstance(node.func, ast.Name) and node.func.id == "zip"
                if any(_is_result(a, tainted) for a in node.args if zipped) or any(
                    isinstance(a, ast.Starred) and _is_result(a.value, tainted) for a in node.args
                ):
                    found.add(node.lineno)
    return [(n, lines[n - 1].strip()) for n in sorted(found)]


def _modules() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for top in SCANNED for p in (ROOT / top).rglob("*.py"))


def test_query_results_are_read_by_column_name() -> None:
    offenders = [
        f"{path}:{line}: {code}"
        for path in _modules()
        for line, code in positional_reads((ROOT / path).read_text(encoding="utf-8"))
    ]
    assert not offenders, (
        "read query results by column name (db.fetch_all/fetch_one with a dataclass or model, dict_row, "
        "db.fetch_scalar(s)) instead of by position:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    "source",
    [
        "def f(conn):\n    row = conn.execute(q).fetchone()\n    return row[0]\n",
        "def f(conn):\n    return conn.execute(q).fetchone()[0]\n",
        "def f(conn):\n    rows = conn.execute(q).fetchall()\n    return [r[1] for r in rows]\n",
        "def f(conn):\n    return {r[0] for r in conn.execute(q)}\n",
        "def f(conn):\n    for org, days in conn.execute(q).fetchall():\n        pass\n",
        "def f(conn):\n    a, b = conn.execute(q).fetchone()\n",
        "def f(cur):\n    cur.execute(q)\n    row = cur.fetchone()\n    return row[-1]\n",
        "def f(conn):\n    row = conn.execute(q).fetchone()\n    return dict(zip(NAMES, row))\n",
        "def f(conn):\n    row = conn.execute(q).fetchone()\n    return Model(*row)\n",
        "def f(conn):\n    rows = sorted(conn.execute(q).fetchall())\n    for r in rows:\n        use(r[2])\n",
        "def f(conn):\n    row = conn.execute(q).fetchone()\n    return row[0] if row else None\n",
        "def f(conn):\n    if (row := conn.execute(q).fetchone()) is not None:\n        return row[0]\n",
        "def f(conn):\n    rows = db.fetch_all(conn, 'q', None, namedtuple_row)\n    return rows[0][1]\n",
    ],
)
def test_the_scan_finds_positional_reads(source: str) -> None:
    assert positional_reads(source)


@pytest.mark.parametrize(
    "source",
    [
        "def f(conn):\n    row = db.fetch_one(conn, 'q', None, dict_row)\n    return row['id']\n",
        "def f(conn):\n    return [r.id for r in db.fetch_all(conn, 'q', None, Row)]\n",
        "def f(groups):\n    return sorted(groups.items(), key=lambda kv: kv[0])\n",
        "def f(text):\n    parts = text.split(':')\n    return parts[0]\n",
        "def f(conn):\n    rows = conn.execute(q).fetchall()\n\ndef g(rows):\n    return rows[0]\n",
    ],
)
def test_the_scan_leaves_reads_by_name_and_other_subscripts_alone(source: str) -> None:
    assert not positional_reads(source)
