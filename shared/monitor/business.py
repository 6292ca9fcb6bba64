"""Business alerts: the owner's numbers, not the pipeline's health. Inquiries well below what the season usually
brings, failed payments above normal, a review score drop, and a balance still owed shortly before a wedding.

Each check is one query over every organization (or one) and returns `measurements.CheckResult`s, which the
monitor's run stores and turns into incidents and notifications exactly like the data-quality checks; each
organization is judged against its own history with its own thresholds (`alertrules`). The method is in
docs/alerts.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row

from shared.core import db
from shared.metrics import balances
from shared.monitor import alertrules, baselines, measurements
from shared.monitor import settings as monitor_settings

YEAR = 364  # 52 weeks: the same weekdays a year earlier
MIN_BASELINE_ATTEMPTS = 10  # payment attempts the failure-rate baseline needs before it judges
RATING_SD_FLOOR = 0.5  # a history of identical scores still allows this much noise (stars)
NPS_SD_FLOOR = 1.0  # (NPS answers, 0-10)
_INQUIRIES = ["inquiry.received"]
_PAYMENTS = ["payment.failed", "payment.succeeded"]


@dataclass(frozen=True)
class _Window:
    role: str  # current, recent, seasonal, year_ago, payments
    shift: int  # days between the window's end and the organization's today
    length: int
    year: int = 0


def _windows() -> list[_Window]:
    cfg = monitor_settings.get()
    weeks = range(1, cfg.business_recent_weeks + 1)
    around = range(-cfg.business_seasonal_weeks_around, cfg.business_seasonal_weeks_around + 1)
    years = range(1, cfg.business_seasonal_years + 1)
    return [
        _Window("current", 0, 7),
        *(_Window("recent", 7 * j, 7) for j in weeks),
        *(_Window("seasonal", YEAR * y - 7 * i, 7, y) for y in years for i in around),
        *(_Window("year_ago", YEAR * y + 7 * j, 7, y) for y in years for j in weeks),
        _Window("payments", 7, 7 * cfg.business_payment_baseline_weeks),
    ]


def _spans(buckets: list[int]) -> list[tuple[int, int]]:
    """Sorted bucket numbers merged into contiguous [from, to) spans: the few index ranges the query reads."""
    spans: list[tuple[int, int]] = []
    for b in buckets:
        if spans and spans[-1][1] == b:
            spans[-1] = (spans[-1][0], b + 1)
        else:
            spans.append((b, b + 1))
    return spans


def _window_counts(
    conn: Connection[Any], now: datetime, org: UUID | None, roles: set[str], metrics: list[str]
) -> dict[UUID, list[tuple[_Window, dict[str, Any]]]]:
    """Per organization, each window of `roles` with its counts (inquiries, failed, succeeded), its days
    [day_from, day_to) and whether it lies within the inquiry history (covered). The windows are whole weeks
    back from the organization's today, so the query sums the rollups once per week (bucket) and each window
    here adds up its weeks: one index range per organization rather than one per window."""
    windows = [w for w in _windows() if w.role in roles]
    unit = math.gcd(*(w.shift for w in windows), *(w.length for w in windows))  # 7: every window is whole weeks
    parts = [range(w.shift // unit, (w.shift + w.length) // unit) for w in windows]
    spans = _spans(sorted({b for part in parts for b in part}))
    params = {
        "now": now,
        "organization_id": org,
        "metrics": metrics,
        "unit": unit,
        "span_from": [a for a, _ in spans],
        "span_to": [b for _, b in spans],
    }
    offsets = [(timedelta(days=w.shift + w.length), timedelta(days=w.shift)) for w in windows]
    counts: dict[UUID, list[tuple[_Window, dict[str, Any]]]] = {}
    for row in db.fetch_all(conn, "business_bucket_counts", params, dict_row):
        today, first_day = row["today"], row["first_day"]
        weeks = {
            b: (i, f, s)
            for b, i, f, s in zip(
                row["buckets"] or [], row["inquiries"] or [], row["failed"] or [], row["succeeded"] or [], strict=True
            )
        }
        rows = []
        for w, part, (before_from, before_to) in zip(windows, parts, offsets, strict=True):
            inquiries = failed = succeeded = 0
            for b in part:
                if b in weeks:
                    i, f, s = weeks[b]
                    inquiries, failed, succeeded = inquiries + i, failed + f, succeeded + s
            day_from = today - before_from
            covered = first_day is not None and day_from >= first_day
            rows.append(
                (
                    w,
                    {
                        "day_from": day_from,
                        "day_to": today - before_to,
                        "covered": covered,
                        "inquiries": inquiries,
                        "failed": failed,
                        "succeeded": succeeded,
                    },
                )
            )
        counts[row["organization_id"]] = rows
    return counts


def _rules(conn: Connection[Any], org: UUID | None, alert: str) -> Callable[[UUID], Any]:
    stored = alertrules.stored_rules(conn, None if org is None else [org])
    return lambda o: alertrules.thresholds(alert, (stored.get((o, alert)) or {}).get("thresholds"))


def inquiries(conn: Connection[Any], now: datetime, org: UUID | None = None) -> list[measurements.CheckResult]:
    """Inquiries of the last 7 complete local days against the organization's seasonal baseline
    (`baselines.weekly_baseline`), failing on a dip `baselines.is_dip` confirms; value and threshold are counts."""
    name = "business.inquiries"
    rules = _rules(conn, org, name)
    results = []
    for org_id, rows in _window_counts(
        conn, now, org, {"current", "recent", "seasonal", "year_ago"}, _INQUIRIES
    ).items():
        current = next(r for w, r in rows if w.role == "current")
        covered = [(w, r) for w, r in rows if r["covered"]]
        seasonal = [float(r["inquiries"]) for w, r in covered if w.role == "seasonal"]
        recent = [float(r["inquiries"]) for w, r in covered if w.role == "recent"]
        by_year: dict[int, list[float]] = {}
        for w, r in covered:
            if w.role == "year_ago":
                by_year.setdefault(w.year, []).append(float(r["inquiries"]))
        full_years = [sum(v) for v in by_year.values() if len(v) == len(recent)]
        level_base = sum(full_years) / len(full_years) if full_years else None
        whole = len(recent) == monitor_settings.get().business_recent_weeks
        baseline = (
            baselines.weekly_baseline(seasonal, recent, level_base if whole else None) if current["covered"] else None
        )
        actual = int(current["inquiries"])
        if not covered and actual == 0:
            continue  # never had an inquiry: nothing to judge, nothing to show
        window = {"window_from": current["day_from"], "window_to": current["day_to"], "actual": actual}
        if baseline is None:
            results.append(
                measurements.result(
                    org_id, name, "", "pass", float(actual), None, "inquiries",
                    f"{actual} inquiries in the last 7 days; learning the usual level (too little history)",
                    now, **window,
                )
            )  # fmt: skip
            continue
        limits = rules(org_id)
        dip = baselines.is_dip(
            actual, baseline, p_value=limits.p_value, drop_ratio=limits.drop_ratio, spread_factor=limits.spread_factor
        )
        p = baselines.poisson_at_most(actual, baseline.expected)
        verdict = "well below" if dip else "within"
        results.append(
            measurements.result(
                org_id, name, "", "fail" if dip else "pass", float(actual),
                round(limits.drop_ratio * baseline.expected, 2), "inquiries",
                f"{actual} inquiries in the last 7 days, {verdict} the usual {baseline.expected:.1f} "
                f"for this time of year ({baseline.method} baseline, P(<= {actual}) = {p:.2g})",
                now, **window, expected=baseline.expected, spread=baseline.spread, method=baseline.method,
                level=baseline.level, history_windows=baseline.windows, p_value=p,
            )
        )  # fmt: skip
    return results


def payment_failures(conn: Connection[Any], now: datetime, org: UUID | None = None) -> list[measurements.CheckResult]:
    """Failed payments of the last 7 local days against the organization's usual failure rate over the weeks
    before (smoothed: (failed + 0.5) / (attempts + 1)): expected failures = usual rate x this week's attempts;
    fails when the Poisson upper tail is below p_value, the rate is rise_ratio x the usual one or more, and at
    least min_failures failed. Value: this week's failures."""
    name = "business.payment_failures"
    rules = _rules(conn, org, name)
    results = []
    for org_id, rows in _window_counts(conn, now, org, {"current", "payments"}, _PAYMENTS).items():
        current = next(r for w, r in rows if w.role == "current")
        base = next(r for w, r in rows if w.role == "payments")
        failed, attempts = int(current["failed"]), int(current["failed"]) + int(current["succeeded"])
        base_attempts = int(base["failed"]) + int(base["succeeded"])
        if base_attempts == 0 and attempts == 0:
            continue  # no payments at all: nothing to judge, nothing to show
        if base_attempts < MIN_BASELINE_ATTEMPTS or attempts == 0:
            results.append(
                measurements.result(
                    org_id, name, "", "pass", float(failed), None, "payments",
                    f"{failed} of {attempts} payments failed in the last 7 days; "
                    f"{base_attempts} earlier attempts (too few to judge)" if attempts else "no payments this week",
                    now, failed=failed, attempts=attempts,
                )
            )  # fmt: skip
            continue
        limits = rules(org_id)
        usual = (int(base["failed"]) + 0.5) / (base_attempts + 1)
        expected = usual * attempts
        p = baselines.poisson_at_least(failed, expected)
        rate = failed / attempts
        high = failed >= limits.min_failures and p < limits.p_value and rate >= limits.rise_ratio * usual
        results.append(
            measurements.result(
                org_id, name, "", "fail" if high else "pass", float(failed),
                float(max(limits.min_failures, math.ceil(limits.rise_ratio * expected))), "payments",
                f"{failed} of {attempts} payments failed in the last 7 days ({rate:.0%}); usually {usual:.1%}, "
                f"about {expected:.1f} (P(>= {failed}) = {p:.2g})",
                now, failed=failed, attempts=attempts, usual_rate=usual, expected=expected, p_value=p,
            )
        )  # fmt: skip
    return results


def _score_drop(
    recent: dict[str, Any] | None, earlier: dict[str, Any] | None, field: str, floor: float, limits: Any
) -> tuple[bool, str, dict[str, Any]]:
    """Whether the recent mean of `field` (rating or nps) dropped below the earlier one, and why (or why not)."""
    count_key = "ratings" if field == "rating" else "answers"
    n = int(recent[count_key]) if recent else 0
    m = int(earlier[count_key]) if earlier else 0
    if recent is None or earlier is None or n < limits.min_reviews or m < limits.min_history:
        return False, f"{n} recent and {m} earlier scores (too few to judge)", {"recent": n, "earlier": m}
    now_mean, usual = float(recent[f"{field}_mean"]), float(earlier[f"{field}_mean"])
    sd = max(float(earlier[f"{field}_sd"] or 0.0), floor)
    z = (now_mean - usual) / (sd / math.sqrt(n))
    least = limits.min_rating_drop if field == "rating" else limits.min_nps_drop
    dropped = usual - now_mean >= least and z <= -limits.z
    detail = {"recent": n, "earlier": m, "recent_mean": now_mean, "usual_mean": usual, "sd": sd, "z": z}
    verb = "dropped to" if dropped else "is"
    return (
        dropped,
        f"mean {field} {verb} {now_mean:.2f} over {n} recent reviews; usually {usual:.2f} (z {z:.1f})",
        detail,
    )


def reviews(conn: Connection[Any], now: datetime, org: UUID | None = None) -> list[measurements.CheckResult]:
    """The mean star rating and the mean NPS answer of the last REVIEW_RECENT_DAYS against the reviews of the
    REVIEW_HISTORY_DAYS before: fails when the drop is at least min_*_drop and z standard errors (the history's
    standard deviation, floored, over the square root of the recent count). Subjects `rating` and `nps`."""
    name = "business.reviews"
    cfg = monitor_settings.get()
    recent_from = now - timedelta(days=cfg.business_review_recent_days)
    params = {
        "now": now,
        "organization_id": org,
        "recent_from": recent_from,
        "history_from": recent_from - timedelta(days=cfg.business_review_history_days),
    }
    stats: dict[UUID, dict[bool, dict[str, Any]]] = {}
    for row in db.fetch_all(conn, "business_review_stats", params, dict_row):
        stats.setdefault(row["organization_id"], {})[bool(row["recent"])] = row
    rules = _rules(conn, org, name)
    results = []
    for org_id, periods in stats.items():
        limits = rules(org_id)
        for field, floor in (("rating", RATING_SD_FLOOR), ("nps", NPS_SD_FLOOR)):
            dropped, message, detail = _score_drop(periods.get(True), periods.get(False), field, floor, limits)
            if field == "nps" and True in periods and int(periods[True]["answers"]):
                recent = periods[True]
                detail["nps"] = round(
                    100 * (int(recent["promoters"]) - int(recent["detractors"])) / int(recent["answers"])
                )
            least = limits.min_rating_drop if field == "rating" else limits.min_nps_drop
            results.append(
                measurements.result(
                    org_id, name, field, "fail" if dropped else "pass", detail.get("recent_mean"),
                    detail["usual_mean"] - least if "usual_mean" in detail else None, field, message, now, **detail,
                )
            )  # fmt: skip
    return results


def balances_overdue(conn: Connection[Any], now: datetime, org: UUID | None = None) -> list[measurements.CheckResult]:
    """Confirmed bookings whose wedding is within days_before days (local date) and whose balance outstanding is
    min_outstanding_minor or more; one subject per booking, value = outstanding minor units. Reads the booking
    state that aggregate keeps and computes "outstanding" with `balances.outstanding`, as the wedding axis does,
    so the two never disagree. Cancelled bookings and weddings in the past are not measured (an open incident
    resolves)."""
    name = "business.balance_overdue"
    stored = alertrules.stored_rules(conn, None if org is None else [org])
    days = [alertrules.thresholds(name, r.get("thresholds")).days_before for (_, a), r in stored.items() if a == name]
    params = {"now": now, "organization_id": org, "max_days": max([alertrules.BalanceThresholds().days_before, *days])}
    results = []
    for row in db.fetch_all(conn, "business_balances_due", params, dict_row):
        org_id = row["organization_id"]
        limits = alertrules.thresholds(name, (stored.get((org_id, name)) or {}).get("thresholds"))
        if int(row["days_left"]) > limits.days_before:
            continue
        owed = balances.outstanding(row["value_minor"], int(row["paid_minor"]), int(row["refunded_minor"]))
        overdue = owed >= limits.min_outstanding_minor
        when = f"wedding {row['wedding_date']:%Y-%m-%d}, in {row['days_left']} day(s)"
        message = (
            f"booking {row['booking_id']} ({when}): {owed} of {row['value_minor']} {row['currency']} (minor units) "
            "still outstanding"
            if overdue
            else f"booking {row['booking_id']} ({when}): paid"
        )
        if int(row["other_currency"]):
            message += f"; {row['other_currency']} payment(s) in another currency not counted"
        results.append(
            measurements.result(
                org_id, name, str(row["booking_id"]), "fail" if overdue else "pass", float(owed),
                float(limits.min_outstanding_minor), row["currency"] or "", message, now,
                wedding_date=row["wedding_date"], days_left=int(row["days_left"]), value_minor=row["value_minor"],
                paid_minor=int(row["paid_minor"]), refunded_minor=int(row["refunded_minor"]),
                other_currency_payments=int(row["other_currency"]),
            )
        )  # fmt: skip
    return results


Check = Callable[[Connection[Any], datetime, UUID | None], list[measurements.CheckResult]]
CHECKS: dict[str, Check] = {
    "business.inquiries": inquiries,
    "business.payment_failures": payment_failures,
    "business.reviews": reviews,
    "business.balance_overdue": balances_overdue,
}
