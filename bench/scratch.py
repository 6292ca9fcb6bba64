"""A throwaway database for one benchmark run: created on the given server, migrated, pointed at by
DATABASE_URL while the run lasts, and dropped however the run ends, so a benchmark leaves nothing behind and
never measures against data another run left."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import conninfo, sql

from shared.core import db, migrations, settings


@contextmanager
def database(server: str, label: str, *, migrate: bool = True, keep: bool = False) -> Iterator[str]:
    """Yield the URL of a new database `wsa_bench_<label>_<random>` on `server` (an admin URL); DATABASE_URL
    names it until the block ends, then the pools close, the database is dropped (unless `keep`: a benchmark
    that measures the same data again) and DATABASE_URL is what it was."""
    name = f"wsa_bench_{label}_{uuid.uuid4().hex[:8]}"
    previous = os.environ.get("DATABASE_URL")
    with psycopg.connect(server, autocommit=True) as c:
        c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = conninfo.make_conninfo(server, dbname=name)
    os.environ["DATABASE_URL"] = url
    settings.clear_cache()
    try:
        if migrate:
            migrations.migrate(url)
        yield url
    finally:
        db.close_pools()
        if not keep:
            with psycopg.connect(server, autocommit=True) as c:
                c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        settings.clear_cache()
