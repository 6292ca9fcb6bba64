"""The web page: its weight (HTML, scripts and styles; raw and gzipped) and the time from navigation start until
the headline cards show numbers, in Debian's chromium driven by Playwright, at a given number of stored events.

Builds a throwaway database the way bench/api.py does (events written straight into analytics_events, rollups
rebuilt, views refreshed; half of the events belong to the measured organization), starts the dashboard function
as deployed (functions-framework, gunicorn) and opens the page's sign-in link in a new browser context each run
(empty browser cache). "Cold" runs start a new dashboard process first (empty answer cache: every figure computed
from the rollups); "warm" runs reuse the process (answers from its cache, as on a second visit). The page marks
`window.wedsyncFirstNumbers` (performance.now(), from navigation start) when the cards are drawn, and
`body[data-loaded]` when every panel is.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/webpage.py --events 1000000

Prints a Markdown table for BENCHMARKS.md and writes the figures as JSON (bench/results/, or --json PATH).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import apibuild, record, scratch
from shared.core import settings
from shared.tools import deployment, runner, signin
from tests.e2e.webpage import browser

Figures = dict[str, Any]


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        body: bytes = answer.read()
        return body


def weight(url: str) -> Figures:
    """Bytes of the page and of every file it loads (stylesheet, modules through the import map)."""
    html = _fetch(url + "/")
    found = set(re.findall(r'(?:src|href)="(/assets/[^"]+)"', html.decode()))
    found |= set(re.findall(r'"(/assets/[^"]+\.[0-9a-f]{12}\.js)"', html.decode()))
    files = {"/": html} | {path: _fetch(url + path) for path in sorted(found)}
    kinds: dict[str, Figures] = {}
    for path, body in files.items():
        kind = "html" if path == "/" else path.rsplit(".", 1)[1]
        slot = kinds.setdefault(kind, {"files": 0, "raw_bytes": 0, "gzip_bytes": 0})
        slot["files"] += 1
        slot["raw_bytes"] += len(body)
        slot["gzip_bytes"] += len(gzip.compress(body, 6))
    total = {k: sum(v[k] for v in kinds.values()) for k in ("files", "raw_bytes", "gzip_bytes")}
    return {"by_kind": kinds, "total": total}


def _visit(chromium: Any, url: str, key: str) -> tuple[float, float]:
    """Milliseconds from navigation start to the cards' numbers, and to every panel drawn."""
    tab = browser.open_tab(chromium, browser.DESKTOP)
    try:
        tab.page.goto(signin.link(url, key), wait_until="commit")
        tab.page.wait_for_selector("body[data-numbers='shown']", timeout=60_000)
        tab.page.wait_for_selector("body[data-loaded='true']", timeout=60_000)
        first = float(tab.page.evaluate("window.wedsyncFirstNumbers"))
        loaded = float(tab.page.evaluate("performance.now()"))
        assert not tab.errors, tab.errors
        return first, loaded
    finally:
        tab.page.context.close()


def _summary(values: list[float]) -> Figures:
    return {"runs_ms": [round(v, 1) for v in values], "median_ms": statistics.median(values), "max_ms": max(values)}


def measure(url: str, key: str, runs: int) -> Figures:
    spec = deployment.load().functions["dashboard"]
    cold: list[tuple[float, float]] = []
    warm: list[tuple[float, float]] = []
    with browser.chromium() as chromium:
        for _ in range(runs):
            fn = runner.start_function("dashboard", spec, url, runner.free_port())
            try:
                runner.wait_ready(fn)
                if not cold:
                    sizes = weight(fn.url)
                cold.append(_visit(chromium, fn.url, key))
                warm.append(_visit(chromium, fn.url, key))
            finally:
                fn.stop()
    return {
        "weight": sizes,
        "first_numbers": {"cold": _summary([c[0] for c in cold]), "warm": _summary([w[0] for w in warm])},
        "all_panels": {"cold": _summary([c[1] for c in cold]), "warm": _summary([w[1] for w in warm])},
    }


def table(figures: Figures, events: int) -> str:
    w = figures["weight"]
    lines = [
        f"Page weight: {w['total']['files']} files, {w['total']['raw_bytes']:,} bytes raw, "
        f"{w['total']['gzip_bytes']:,} gzipped ("
        + ", ".join(f"{k} {v['raw_bytes']:,}/{v['gzip_bytes']:,}" for k, v in sorted(w["by_kind"].items()))
        + ")",
        "",
        f"| at {events:,} events | first numbers, median | max | every panel, median | max |",
        "|---|---|---|---|---|",
    ]
    for kind in ("cold", "warm"):
        f, a = figures["first_numbers"][kind], figures["all_panels"][kind]
        lines.append(
            f"| {kind} | {f['median_ms']:.0f} ms | {f['max_ms']:.0f} ms | {a['median_ms']:.0f} ms | {a['max_ms']:.0f} ms |"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="cold and warm visits each")
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    reason = browser.missing()
    if reason:
        sys.exit(reason)
    started = record.start()
    admin = os.environ["DATABASE_URL"]
    with scratch.database(admin, "page", migrate=False) as url:
        os.environ["DB_STATEMENT_TIMEOUT_MS"] = "900000"  # building 1 M events on a busy machine: minutes
        settings.clear_cache()
        orgs, build = apibuild.build_database(url, args.events)
        del os.environ["DB_STATEMENT_TIMEOUT_MS"]  # the dashboard runs with its own limits
        settings.clear_cache()
        figures = {"build": build, **measure(url, orgs[0].read_key, args.runs)}
        print(table(figures, args.events))
        print(json.dumps(figures["weight"]["total"]))
        record.write("webpage", args, figures, database_url=admin, started=started, path=args.json)


if __name__ == "__main__":
    main()
