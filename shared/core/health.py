"""The cheap health answer every function gives at GET /healthz, for the platform's probes."""

from __future__ import annotations

from pydantic import BaseModel

from shared.core import db, migrations, queues, settings


class Health(BaseModel):
    ok: bool
    database: bool
    migrations_current: bool
    queues: bool
    detail: str = ""


def check() -> Health:
    """Database reachable, no pending migration, queues readable. Never raises."""
    cfg = settings.get_settings()
    try:
        with db.transaction() as conn:
            conn.execute("select 1")
            for queue in (cfg.ingest_queue, cfg.aggregate_queue):
                queues.depth(conn, queue)
    except Exception as exc:  # a probe reports, it does not crash
        return Health(ok=False, database=False, migrations_current=False, queues=False, detail=str(exc)[:300])
    try:
        current = not migrations.pending(db.database_url())
    except Exception as exc:
        return Health(ok=False, database=True, migrations_current=False, queues=True, detail=str(exc)[:300])
    return Health(
        ok=current,
        database=True,
        migrations_current=current,
        queues=True,
        detail="" if current else "migrations pending",
    )
