"""The funnels: what became of bookings, inquiry-to-balance conversion, cohorts, lead-time distributions.

Read through the organization-filtered views over the per-booking and per-client state that aggregate writes in
each batch's transaction, so they are exact as soon as the batch commits (docs/aggregation.md, "live state").
`freshness` lists materialized views still waiting for a refresh: none since that state replaced them. Every
function takes the caller's connection and reads one organization only.

API (all return pydantic models):
    bookings(conn, org_id, start, end) -> list[BookingStatus]              # cancellations, net bookings
    funnel(conn, org_id, start, end) -> Funnel                 # inquiry > booking > deposit > balance
    cohorts(conn, org_id, start_month, end_month) -> list[Cohort]
    lead_times(conn, org_id, measure, start_month, end_month) -> LeadTimes
    freshness(conn, org_id) -> list[ViewFreshness]
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from shared.core import db
from shared.metrics import definitions, timeframes


class BookingStatus(BaseModel):
    currency: str
    bookings: int = Field(description="Bookings confirmed in the window")
    cancelled: int = Field(description="Of those, cancelled since")
    net_bookings: int
    value_minor: int
    net_value_minor: int = Field(description="Value of those not cancelled")


def bookings(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> list[BookingStatus]:
    """Bookings made in the window and what became of them (from the booking view), per currency."""
    timeframes.check_window(start, end)
    rows = db.fetch_all(conn, "booking_status", {"organization_id": org_id, "start": start, "end": end}, dict_row)
    return [
        BookingStatus(
            currency=r["currency"],
            bookings=r["bookings"],
            cancelled=r["cancelled"],
            net_bookings=r["bookings"] - r["cancelled"],
            value_minor=r["value_minor"],
            net_value_minor=r["net_value_minor"],
        )
        for r in rows
    ]


class FunnelStage(BaseModel):
    stage: Literal["inquiry", "booking", "deposit_paid", "balance_paid"]
    clients: int
    rate_from_previous: float | None
    rate_from_inquiry: float | None


class Funnel(BaseModel):
    cohort: str = Field(default=definitions.FUNNEL_COHORT, description="Which clients the funnel follows")
    stages: list[FunnelStage]
    conversion_rate: float | None = Field(description="Clients who booked / clients who inquired")
    median_days_to_book: float | None
    mean_days_to_book: float | None


def funnel(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> Funnel:
    """Clients whose first inquiry was in [start, end), and how many of them have since booked, paid a deposit
    and paid the balance (payments are linked to clients through their booking_id)."""
    timeframes.check_window(start, end)
    row = db.fetch_one(conn, "funnel_counts", {"organization_id": org_id, "start": start, "end": end}, dict_row)
    assert row is not None
    counts = [int(row["inquiries"]), int(row["booked"]), int(row["deposit_paid"]), int(row["balance_paid"])]
    names: list[Literal["inquiry", "booking", "deposit_paid", "balance_paid"]] = [
        "inquiry",
        "booking",
        "deposit_paid",
        "balance_paid",
    ]
    stages = [
        FunnelStage(
            stage=name,
            clients=n,
            rate_from_previous=(n / counts[i - 1] if counts[i - 1] else None) if i else None,
            rate_from_inquiry=n / counts[0] if counts[0] else None,
        )
        for i, (name, n) in enumerate(zip(names, counts, strict=True))
    ]
    return Funnel(
        stages=stages,
        conversion_rate=counts[1] / counts[0] if counts[0] else None,
        median_days_to_book=None if row["median_days_to_book"] is None else float(row["median_days_to_book"]),
        mean_days_to_book=None if row["mean_days_to_book"] is None else float(row["mean_days_to_book"]),
    )


class Cohort(BaseModel):
    month: date = Field(description="Month of the first inquiry, in the organization's zone")
    inquiries: int
    booked: int
    deposit_paid: int
    balance_paid: int
    conversion_rate: float | None


def cohorts(conn: Connection[Any], org_id: UUID, start_month: date, end_month: date) -> list[Cohort]:
    """Monthly inquiry cohorts with start_month <= month < end_month."""
    rows = db.fetch_all(conn, "cohorts", {"organization_id": org_id, "start": start_month, "end": end_month}, dict_row)
    return [
        Cohort(
            month=r["cohort_month"],
            inquiries=r["inquiries"],
            booked=r["booked"],
            deposit_paid=r["deposit_paid"],
            balance_paid=r["balance_paid"],
            conversion_rate=r["booked"] / r["inquiries"] if r["inquiries"] else None,
        )
        for r in rows
    ]


class LeadTimes(BaseModel):
    measure: Literal["inquiry_to_booking", "booking_to_wedding"]
    histogram: dict[int, int] = Field(description="whole days -> how many")
    count: int
    mean_days: float | None
    p50_days: int | None
    p90_days: int | None


def lead_times(
    conn: Connection[Any],
    org_id: UUID,
    measure: Literal["inquiry_to_booking", "booking_to_wedding"],
    start_month: date,
    end_month: date,
) -> LeadTimes:
    """The distribution of a lead time for bookings made in local months [start_month, end_month)."""
    rows = db.fetch_all(
        conn,
        "lead_time_histogram",
        {"organization_id": org_id, "measure": measure, "start": start_month, "end": end_month},
        dict_row,
    )
    hist = {int(r["days"]): int(r["n"]) for r in rows}
    count = sum(hist.values())

    def quantile(q: float) -> int | None:
        if not count:
            return None
        seen = 0
        for days, n in sorted(hist.items()):
            seen += n
            if seen >= q * count:
                return days
        return max(hist)

    return LeadTimes(
        measure=measure,
        histogram=hist,
        count=count,
        mean_days=sum(d * n for d, n in hist.items()) / count if count else None,
        p50_days=quantile(0.5),
        p90_days=quantile(0.9),
    )


class ViewFreshness(BaseModel):
    view: str
    pending: bool
    changed_at: datetime | None
    refreshed_at: datetime | None
    refresh_ms: int | None
    stale_seconds: float


def freshness(conn: Connection[Any], org_id: UUID) -> list[ViewFreshness]:
    """When each materialized view was last refreshed for the organization and how stale it is now."""
    rows = db.fetch_all(conn, "view_freshness", {"organization_id": org_id}, dict_row)
    return [
        ViewFreshness(
            view=r["view_name"],
            pending=r["pending"],
            changed_at=r["changed_at"],
            refreshed_at=r["refreshed_at"],
            refresh_ms=r["refresh_ms"],
            stale_seconds=float(r["stale_seconds"]),
        )
        for r in rows
    ]
