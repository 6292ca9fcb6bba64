"""The data quality checks of the organizations. Each measures one thing, compares it with a threshold and says
pass, warn or fail.

Each check is one set-based pass over every organization of its scope (a few queries whatever the number of
organizations), then a verdict per organization in Python. Every function reads only (the schema-drift
catalogue aside) and returns `measurements.CheckResult`s; storing, history and alerting live in
`shared/monitor/quality.py` and `shared/monitor/alerts.py`. Thresholds come from settings (docs/quality.md lists them).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import dict_row

from shared.core import db, queries
from shared.monitor import measurements
from shared.monitor import settings as monitor_settings

ALL_SOURCES = "*"
_MIN_ACTIVE_HOURS = 5
_RHYTHM_HOURS = 500  # the rhythm is learnt from the most recent active hours

Scope = Mapping[UUID, str]
"""The organizations a check covers, each with its IANA time zone."""


def _ids(scope: Scope) -> list[str]:
    return [str(org) for org in scope]


def _grouped(rows: list[dict[str, Any]]) -> dict[UUID, list[dict[str, Any]]]:
    by_org: dict[UUID, list[dict[str, Any]]] = {}
    for row in rows:
        by_org.setdefault(row["organization_id"], []).append(row)
    return by_org


def _usual_gap(hours: list[datetime]) -> float | None:
    """Median seconds between consecutive active hours, or None with too little history to judge."""
    return _usual_gap_seconds([h.timestamp() for h in hours])


def _usual_gap_seconds(hours: list[float]) -> float | None:
    """`_usual_gap` of sorted epoch seconds: the run judges 10,000 organizations x sources, so the gaps are
    float subtractions rather than datetime arithmetic."""
    if len(hours) < _MIN_ACTIVE_HOURS:
        return None
    hours = hours[-_RHYTHM_HOURS:]
    return float(statistics.median([b - a for a, b in itertools.pairwise(hours)]))


def freshness(conn: Connection[Any], scope: Scope, now: datetime) -> list[measurements.CheckResult]:
    """Age of the newest stored event per source (and over all sources) against the source's usual rhythm.

    The rhythm is the median gap between the most recent hours in which the source had events stored; the
    threshold is that gap times a factor (never below a floor). Older than the threshold warns, older than
    twice the threshold fails. A source with no stored event for QUALITY_FRESHNESS_HISTORY_DAYS is retired
    (no longer measured), which resolves its incident.
    """
    since = now - timedelta(days=monitor_settings.get().quality_freshness_history_days)
    rows = db.fetch_all(conn, "quality_active_hours", {"organizations": _ids(scope), "since": since}, dict_row)
    return [
        result
        for org, sources in _grouped(rows).items()
        for result in _freshness_of(
            org, {r["source"]: list(r["hours"]) for r in sources}, {r["source"]: r["newest"] for r in sources}, now
        )
    ]


def _freshness_of(
    org: UUID, active: dict[str, list[float]], newest: dict[str, datetime | None], now: datetime
) -> list[measurements.CheckResult]:
    """One organization's freshness results; `active` holds each source's active hours as epoch seconds."""
    cfg = monitor_settings.get()
    combined = sorted({h for hours in active.values() for h in hours})
    known = [t for t in newest.values() if t is not None]
    subjects = [(ALL_SOURCES, combined, max(known) if known else None)]
    subjects += [(src, hours, newest[src]) for src, hours in sorted(active.items())]
    results = []
    for subject, hours, latest in subjects:
        gap = _usual_gap_seconds(hours)
        age = (now - latest).total_seconds() if latest else None
        if gap is None:
            results.append(
                measurements.result(
                    org,
                    "freshness",
                    subject,
                    "pass",
                    age,
                    None,
                    "seconds",
                    f"learning the rhythm: {len(hours)} active hour(s) of history so far",
                    now,
                    newest=latest,
                )
            )
            continue
        threshold = max(float(cfg.quality_freshness_min_seconds), cfg.quality_freshness_factor * gap)
        status: measurements.Status = "pass"
        if age is None or age > 2 * threshold:
            status = "fail"
        elif age > threshold:
            status = "warn"
        shown = "no stored event" if age is None else f"newest event stored {age / 3600:.1f} h ago"
        results.append(
            measurements.result(
                org,
                "freshness",
                subject,
                status,
                age,
                threshold,
                "seconds",
                f"{shown}; usual gap {gap / 3600:.1f} h",
                now,
                newest=latest,
                usual_gap_seconds=gap,
            )
        )
    return results


def _hour_windows(now: datetime, tz: ZoneInfo, weeks: int, settle: timedelta) -> list[datetime]:
    """The last complete hour, then the same weekday and local hour of each previous week (DST-aware)."""
    end = (now - settle).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=1)
    local = start.astimezone(tz).replace(tzinfo=None)
    windows = [start]
    for k in range(1, weeks + 1):
        shifted = (local - timedelta(weeks=k)).replace(tzinfo=tz)
        windows.append(shifted.astimezone(UTC))
    return windows


def volume(conn: Connection[Any], scope: Scope, now: datetime) -> list[measurements.CheckResult]:
    """Events per source and type in the last complete hour against the same hour of previous weeks.

    Expected is the median of the previous weeks. A drop below drop_warn/drop_fail of expected warns/fails
    (not judged when expected is below a minimum: too few events to tell); a rise above spike_warn/spike_fail
    times expected (or the minimum, whichever is larger) warns/fails. Value and threshold are ratios.
    """
    cfg = monitor_settings.get()
    settle = timedelta(minutes=cfg.quality_volume_settle_minutes)
    windows = {
        zone: _hour_windows(now, ZoneInfo(zone), cfg.quality_volume_weeks, settle) for zone in set(scope.values())
    }
    params = {
        "zones": [zone for zone, starts in windows.items() for _ in starts],
        "ks": [k for starts in windows.values() for k in range(1, len(starts) + 1)],
        "starts": [start for starts in windows.values() for start in starts],
        "organizations": _ids(scope),
        "org_zones": list(scope.values()),
    }
    counts: dict[UUID, dict[tuple[str, str], list[int]]] = {}
    for r in db.fetch_all(conn, "quality_volume_windows", params, dict_row):
        series = counts.setdefault(r["organization_id"], {})
        series.setdefault((r["source"], r["event_type"]), [0] * (cfg.quality_volume_weeks + 1))[int(r["k"]) - 1] = int(
            r["n"]
        )
    return [result for org, series in counts.items() for result in _volume_of(org, windows[scope[org]], series, now)]


def _volume_of(
    org: UUID, starts: list[datetime], counts: dict[tuple[str, str], list[int]], now: datetime
) -> list[measurements.CheckResult]:
    cfg = monitor_settings.get()
    results = []
    for (source, event_type), series in sorted(counts.items()):
        actual, history = series[0], series[1:]
        expected = float(statistics.median(history))
        detail = {"window_start": starts[0], "actual": actual, "expected": expected, "previous_weeks": history}
        subject = f"{source}/{event_type}"
        floor = max(expected, float(cfg.quality_volume_min_expected))
        spike = actual / floor
        if spike > cfg.quality_volume_spike_warn:
            status: measurements.Status = "fail" if spike > cfg.quality_volume_spike_fail else "warn"
            threshold = cfg.quality_volume_spike_fail if status == "fail" else cfg.quality_volume_spike_warn
            results.append(
                measurements.result(
                    org,
                    "volume",
                    subject,
                    status,
                    spike,
                    threshold,
                    "ratio",
                    f"spike: {actual} events against about {expected:g} usually",
                    now,
                    **detail,
                )
            )
            continue
        if expected < cfg.quality_volume_min_expected:
            results.append(
                measurements.result(
                    org,
                    "volume",
                    subject,
                    "pass",
                    None,
                    None,
                    "ratio",
                    f"{actual} events; too few usually ({expected:g}) to judge a drop",
                    now,
                    **detail,
                )
            )
            continue
        ratio = actual / expected
        status = "pass"
        threshold = cfg.quality_volume_drop_warn
        if ratio < cfg.quality_volume_drop_fail:
            status, threshold = "fail", cfg.quality_volume_drop_fail
        elif ratio < cfg.quality_volume_drop_warn:
            status = "warn"
        what = "went silent" if actual == 0 else ("drop" if status != "pass" else "as usual")
        results.append(
            measurements.result(
                org,
                "volume",
                subject,
                status,
                ratio,
                threshold,
                "ratio",
                f"{what}: {actual} events against about {expected:g} usually",
                now,
                **detail,
            )
        )
    return results


def _rate_status(rate: float, warn: float, fail: float) -> tuple[measurements.Status, float]:
    if rate > fail:
        return "fail", fail
    return ("warn" if rate > warn else "pass"), warn


def rates(conn: Connection[Any], scope: Scope, now: datetime) -> list[measurements.CheckResult]:
    """Rejection and duplicate rate per source over a window, with the most frequent rejection reasons.

    Rates are over every outcome (stored + duplicates + rejected), so ingest- and validate-stage outcomes of
    any source add up; sources with fewer events than a minimum always pass.
    """
    cfg = monitor_settings.get()
    since = now - timedelta(hours=cfg.quality_rate_window_hours)
    params = {"organizations": _ids(scope), "since": since}
    reasons: dict[tuple[UUID, str], list[dict[str, Any]]] = {}
    for r in db.fetch_all(conn, "quality_top_reasons", params, dict_row):
        top = reasons.setdefault((r["organization_id"], r["source"]), [])
        if len(top) < 3:
            top.append({"type": r["reason_type"], "loc": r["loc"], "count": int(r["n"])})
    results = []
    for outcome in db.fetch_all(conn, "quality_source_outcomes", params, dict_row):
        org, source = outcome["organization_id"], outcome["source"]
        dups, rejected = int(outcome["duplicates"]), int(outcome["rejected"])
        total = int(outcome["stored"]) + dups + rejected
        for check, part, warn, fail in (
            ("rejection_rate", int(rejected), cfg.quality_rejection_warn, cfg.quality_rejection_fail),
            ("duplicate_rate", int(dups), cfg.quality_duplicate_warn, cfg.quality_duplicate_fail),
        ):
            rate = part / total if total else 0.0
            status, threshold = _rate_status(rate, warn, fail)
            if total < cfg.quality_rate_min_events:
                status = "pass"
            detail: dict[str, Any] = {"events": total, "count": part, "since": since}
            if check == "rejection_rate":
                detail["top_reasons"] = reasons.get((org, source), [])
            results.append(
                measurements.result(
                    org,
                    check,
                    source,
                    status,
                    rate,
                    threshold,
                    "ratio",
                    f"{part} of {total} events in {cfg.quality_rate_window_hours} h",
                    now,
                    **detail,
                )
            )
    return results


def schema_drift(conn: Connection[Any], scope: Scope, now: datetime) -> list[measurements.CheckResult]:
    """Fields and event types providers sent that the catalog refused, first seen within the drift window.

    The catalogue is refreshed from the last week of dead letters first. New entries warn (the events are
    already dead-lettered and replayable; the rejection rate check fails if they are many).
    """
    cfg = monitor_settings.get()
    conn.execute(
        queries.get("quality_catalogue_update"), {"organizations": _ids(scope), "since": now - timedelta(days=7)}
    )
    since = now - timedelta(hours=cfg.quality_drift_window_hours)
    found = _grouped(
        db.fetch_all(conn, "quality_catalogue_new", {"organizations": _ids(scope), "since": since}, dict_row)
    )
    results = []
    for org in scope:
        entries = [
            {k: r[k] for k in ("source", "kind", "name", "first_seen_at", "last_seen_at")} for r in found.get(org, [])
        ]
        status: measurements.Status = "warn" if entries else "pass"
        names = ", ".join(f"{e['source']}:{e['kind']}:{e['name']}" for e in entries[:5])
        message = f"new since {since:%Y-%m-%d %H:%M} UTC: {names}" if entries else "no unknown fields or event types"
        results.append(
            measurements.result(
                org, "schema_drift", "", status, float(len(entries)), 0.0, "entries", message, now, new=entries[:50]
            )
        )
    return results
