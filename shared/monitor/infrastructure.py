"""The global data quality checks: the pipeline's queues and its storage, not about any one organization.

Every function reads only and returns `measurements.CheckResult`s under `measurements.GLOBAL`; storing, history
and alerting live in `shared/monitor/quality.py` and `shared/monitor/alerts.py`. Thresholds come from settings
(docs/quality.md lists them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import Connection, rows, sql

from shared.core import db, queries, queues
from shared.monitor import measurements
from shared.monitor import settings as monitor_settings


def queue_health(conn: Connection[Any], now: datetime) -> list[measurements.CheckResult]:
    """Per queue: depth, age of the oldest message, and messages read more often than the retry limit."""
    cfg = monitor_settings.get()
    results = []
    for name in db.fetch_scalars(conn, "quality_queue_names"):
        measured = queues.depth(conn, name)
        depth, age = measured.length, measured.oldest_age_seconds
        table = sql.Identifier("pgmq", f"q_{name}")
        with conn.cursor(row_factory=rows.scalar_row) as cur:
            over = cur.execute(
                sql.SQL(queries.get("quality_queue_over_retry")).format(table=table),
                {"max_reads": cfg.queue_max_reads},
            ).fetchone()
        over_n = int(over) if over is not None else 0
        age_s = float(age or 0)
        status: measurements.Status = (
            "fail"
            if age_s > cfg.quality_queue_age_fail_seconds
            else ("warn" if age_s > cfg.quality_queue_age_warn_seconds else "pass")
        )
        results.append(
            measurements.result(
                measurements.GLOBAL,
                "queue_age",
                name,
                status,
                age_s,
                float(cfg.quality_queue_age_fail_seconds if status == "fail" else cfg.quality_queue_age_warn_seconds),
                "seconds",
                f"oldest message waiting {age_s:.0f} s",
                now,
                depth=depth,
            )
        )
        status = (
            "fail"
            if depth > cfg.quality_queue_depth_fail
            else ("warn" if depth > cfg.quality_queue_depth_warn else "pass")
        )
        results.append(
            measurements.result(
                measurements.GLOBAL,
                "queue_depth",
                name,
                status,
                float(depth),
                float(cfg.quality_queue_depth_fail if status == "fail" else cfg.quality_queue_depth_warn),
                "messages",
                f"{depth} message(s) waiting",
                now,
            )
        )
        results.append(
            measurements.result(
                measurements.GLOBAL,
                "queue_over_retry_limit",
                name,
                "warn" if over_n else "pass",
                float(over_n),
                float(cfg.queue_max_reads),
                "messages",
                f"{over_n} message(s) read more than {cfg.queue_max_reads} times (dead-lettered at their next read)",
                now,
            )
        )
    return results


def storage(conn: Connection[Any], now: datetime) -> list[measurements.CheckResult]:
    """Event partitions created ahead, table and index sizes, dead tuples in the queue tables."""
    cfg = monitor_settings.get()
    results = []
    month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = {r["range_from"] for r in db.fetch_all(conn, "quality_partitions", None, rows.dict_row)}
    ahead = -1 if month not in starts else 0
    cursor = month
    while ahead >= 0:
        cursor = (cursor + timedelta(days=32)).replace(day=1)
        if cursor not in starts:
            break
        ahead += 1
    status: measurements.Status = (
        "fail"
        if ahead < cfg.quality_partitions_ahead_fail
        else ("warn" if ahead < cfg.quality_partitions_ahead_warn else "pass")
    )
    shown = "no partition for the current month" if ahead < 0 else f"{ahead} month(s) of partitions ahead"
    results.append(
        measurements.result(
            measurements.GLOBAL,
            "partitions_ahead",
            "analytics_events",
            status,
            float(ahead),
            float(cfg.quality_partitions_ahead_warn),
            "months",
            shown,
            now,
        )
    )
    for size in db.fetch_all(conn, "quality_table_sizes", None, rows.dict_row):
        table, data, index = size["table_name"], int(size["data_bytes"]), int(size["index_bytes"])
        total = int(data) + int(index)
        status = "warn" if total > cfg.quality_table_bytes_warn else "pass"
        results.append(
            measurements.result(
                measurements.GLOBAL,
                "table_size",
                table,
                status,
                float(total),
                float(cfg.quality_table_bytes_warn),
                "bytes",
                f"{total / 1024**2:.1f} MiB (indexes {int(index) / 1024**2:.1f} MiB)",
                now,
                data_bytes=int(data),
                index_bytes=int(index),
            )
        )
    for t in db.fetch_all(conn, "quality_queue_dead_tuples", None, rows.dict_row):
        dead = t["n_dead_tup"]
        status = "warn" if int(dead) > cfg.quality_dead_tuples_warn else "pass"
        results.append(
            measurements.result(
                measurements.GLOBAL,
                "queue_dead_tuples",
                f"pgmq.{t['relname']}",
                status,
                float(dead),
                float(cfg.quality_dead_tuples_warn),
                "tuples",
                f"{dead} dead, {t['n_live_tup']} live tuples",
                now,
                last_vacuum=t["last_vacuum"],
            )
        )
    return results
