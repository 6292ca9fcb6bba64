"""Per-organization thresholds and mutes of the business alerts (`analytics_alert_rules`).

An organization's thresholds replace the defaults field by field; a mute silences delivery of that alert's
incidents until a moment (they are still recorded, and one opened during a mute is never sent later: once per
incident). The admin routes and the CLI write here; the checks and the delivery read it.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import db, queries

log = logging.getLogger(__name__)

_DURATION = re.compile(r"^(?P<n>[1-9][0-9]{0,5})(?P<unit>[mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_MUTE = timedelta(days=366)


class _Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InquiryThresholds(_Thresholds):
    p_value: Annotated[float, Field(gt=0, lt=0.5)] = Field(
        default=0.01, description="Alert only when P(X <= this week's inquiries) under Poisson is below this."
    )
    drop_ratio: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.6, description="... and this week's inquiries are at most this share of the expected count."
    )
    spread_factor: Annotated[float, Field(ge=0, le=10)] = Field(
        default=2.0, description="... and below expected minus this many robust standard deviations of history."
    )


class PaymentFailureThresholds(_Thresholds):
    p_value: Annotated[float, Field(gt=0, lt=0.5)] = Field(
        default=0.01, description="Alert only when P(X >= this week's failures) under Poisson is below this."
    )
    rise_ratio: Annotated[float, Field(ge=1, le=100)] = Field(
        default=2.0, description="... and this week's failure rate is at least this multiple of the usual rate."
    )
    min_failures: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=3, description="... and at least this many payments failed this week."
    )


class ReviewThresholds(_Thresholds):
    z: Annotated[float, Field(gt=0, le=10)] = Field(
        default=2.33, description="Alert when the recent mean is this many standard errors below the history."
    )
    min_reviews: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=3, description="Recent reviews needed to judge."
    )
    min_history: Annotated[int, Field(ge=2, le=100_000)] = Field(
        default=5, description="Earlier reviews needed to judge."
    )
    min_rating_drop: Annotated[float, Field(ge=0, le=4)] = Field(
        default=0.5, description="Smallest drop of the mean star rating (1-5) that alerts."
    )
    min_nps_drop: Annotated[float, Field(ge=0, le=10)] = Field(
        default=1.5, description="Smallest drop of the mean NPS answer (0-10) that alerts."
    )


class BalanceThresholds(_Thresholds):
    days_before: Annotated[int, Field(ge=0, le=365)] = Field(
        default=14, description="Alert for weddings this many days ahead (or fewer) whose balance is not paid."
    )
    min_outstanding_minor: Annotated[int, Field(ge=1)] = Field(
        default=1, description="Smallest outstanding balance (minor units of the booking's currency) that alerts."
    )


THRESHOLDS: dict[str, type[_Thresholds]] = {
    "business.inquiries": InquiryThresholds,
    "business.payment_failures": PaymentFailureThresholds,
    "business.reviews": ReviewThresholds,
    "business.balance_overdue": BalanceThresholds,
}
ALERTS = tuple(THRESHOLDS)


def alert_name(text: str) -> str:
    """The full alert name from `inquiries` or `business.inquiries`; a ValueError lists the known ones."""
    name = text if text.startswith("business.") else f"business.{text}"
    if name not in THRESHOLDS:
        known = ", ".join(a.removeprefix("business.") for a in ALERTS)
        raise ValueError(f"unknown alert {text!r}; alerts are {known}")
    return name


def parse_duration(text: str) -> timedelta:
    """`30m`, `12h`, `7d` or `2w` (at most 366 days); a ValueError says what is accepted."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a duration: give a number and m, h, d or w (30m, 12h, 7d, 2w)")
    duration = timedelta(**{_UNITS[found["unit"]]: int(found["n"])})
    if duration > MAX_MUTE:
        raise ValueError(f"a mute lasts at most {MAX_MUTE.days} days")
    return duration


def thresholds(alert: str, stored: dict[str, Any] | None) -> Any:
    """The effective thresholds of an alert: the organization's stored ones over the defaults (invalid stored
    thresholds, which the writers refuse, fall back to the defaults with a warning)."""
    model = THRESHOLDS[alert]
    try:
        return model.model_validate(stored or {})
    except ValidationError as exc:
        log.warning("invalid stored thresholds for %s, using the defaults: %s", alert, exc)
        return model()


class Rule(BaseModel):
    """An organization's rule for one alert as the API and the CLI show it."""

    alert: str
    thresholds: dict[str, Any] = Field(description="The effective thresholds (defaults where none were set)")
    custom: dict[str, Any] = Field(description="The thresholds this organization set")
    muted_until: datetime | None
    muted: bool
    updated_at: datetime | None
    updated_by: str


def stored_rules(conn: Connection[Any], organizations: list[UUID] | None) -> dict[tuple[UUID, str], dict[str, Any]]:
    """Every stored rule of these organizations (all when None), by (organization, alert); one query."""
    ids = None if organizations is None else [str(o) for o in organizations]
    rows = db.fetch_all(conn, "alert_rules_of", {"organizations": ids}, dict_row)
    return {(r["organization_id"], r["alert"]): r for r in rows}


def rules(conn: Connection[Any], org: UUID, now: datetime) -> list[Rule]:
    """The organization's rule for every alert, defaults filled in."""
    stored = stored_rules(conn, [org])
    answer = []
    for alert in ALERTS:
        row = stored.get((org, alert))
        custom = dict(row["thresholds"]) if row else {}
        until = row["muted_until"] if row else None
        answer.append(
            Rule(
                alert=alert,
                thresholds=thresholds(alert, custom).model_dump(),
                custom=custom,
                muted_until=until,
                muted=until is not None and until > now,
                updated_at=row["updated_at"] if row else None,
                updated_by=row["updated_by"] if row else "",
            )
        )
    return answer


def set_thresholds(
    conn: Connection[Any], org: UUID, alert: str, values: dict[str, Any], *, by: str, replace: bool = False
) -> None:
    """Store thresholds for one alert (merged with those already set unless `replace`); a ValidationError
    names a field that is unknown or out of range."""
    current = {} if replace else dict(stored_rules(conn, [org]).get((org, alert), {}).get("thresholds") or {})
    merged = THRESHOLDS[alert].model_validate({**current, **values}).model_dump(exclude_unset=True)
    conn.execute(
        queries.get("alert_rule_thresholds"),
        {"organization_id": org, "alert": alert, "thresholds": json.dumps(merged), "by": by},
    )


def mute(conn: Connection[Any], org: UUID, alerts: list[str], until: datetime | None, *, by: str) -> None:
    """Mute these alerts of the organization until a moment (None unmutes)."""
    for alert in alerts:
        conn.execute(queries.get("alert_rule_mute"), {"organization_id": org, "alert": alert, "until": until, "by": by})


def muted(conn: Connection[Any], now: datetime) -> set[tuple[UUID, str]]:
    """Every (organization, alert) muted at `now`; one query, for the delivery of notifications."""
    return {(r["organization_id"], r["alert"]) for r in db.fetch_all(conn, "alert_rules_muted", {"now": now}, dict_row)}
