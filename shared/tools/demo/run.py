"""`wedsync-analytics demo`: generate a year, send it through a running pipeline, wait until it is counted,
print the headline numbers.

Guarantees:
* It goes through the product, not around it: events enter through the ingest API and the Stripe and Resend
  webhook endpoints, are validated, stored, aggregated and refreshed by the running functions, and the numbers
  printed are read back through `shared.metrics`, like the dashboard reads them.
* Idempotent: the same seed, span and end day give the same event ids, so a second run stores nothing new and
  changes no number (the ingest answers count them as duplicates).
* Its own organization by default: one per (seed, span, end day), found by name on a re-run, so a demo never mixes
  with real data. The ingest key it sends with is minted for the run and revoked after; the two webhook sources
  ("demo") are kept and their secrets re-read (decrypted) on the next run.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import dict_row
from pydantic import BaseModel

from shared.catalog import currencies
from shared.core import apikeys, db, organizations, queues, secretbox
from shared.ingest import webhooks
from shared.metrics import funnels, home, rollups, seasons, weddings
from shared.report import settings as report_settings
from shared.tools import fxload
from shared.tools import settings as tools_settings
from shared.tools.demo import business as demo_business
from shared.tools.demo import delivery, story
from shared.tools.demo import year as demo_year

SOURCE_NAME = "demo"
Out = Callable[[str], None]


@dataclass(frozen=True)
class Organization:
    id: UUID
    name: str
    timezone: str
    currency: str


def organization_name(y: demo_year.Year) -> str:
    return f"{y.business.name} (demo: seed {y.seed}, {y.first_day} to {y.end_day - timedelta(days=1)})"


def _organizations(conn: Connection[Any]) -> list[Organization]:
    return [
        Organization(r["id"], r["name"], r["timezone"], r["currency"])
        for r in db.fetch_all(conn, "list_organizations", None, dict_row)
    ]


def find_or_create_organization(conn: Connection[Any], name: str, business: demo_business.Business) -> Organization:
    """The demo organization called `name`, created (with the business's zone and currency) if missing."""
    for org in _organizations(conn):
        if org.name == name:
            return org
    created = organizations.create(
        conn, organizations.NewOrganization(name=name, timezone=business.timezone, currency=business.currency)
    )
    return Organization(created.id, created.name, created.timezone, created.currency)


def existing_organization(conn: Connection[Any], org_id: UUID) -> Organization:
    for org in _organizations(conn):
        if org.id == org_id:
            return org
    raise LookupError(f"no organization {org_id}")


def _new_secret(provider: str) -> str:
    if provider == "resend":  # Svix secrets are base64 key bytes after whsec_
        return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    return "whsec_" + secrets.token_hex(24)


def demo_source(conn: Connection[Any], org_id: UUID, provider: str) -> tuple[UUID, str]:
    """(source id, signing secret) of the organization's demo source for `provider`, registered if missing."""
    for source in webhooks.list_(conn, org_id):
        if source.provider == provider and source.name == SOURCE_NAME:
            stored = webhooks.find(conn, source.id)
            assert stored is not None
            return source.id, secretbox.open_(bytes(stored.secret_ciphertext), str(source.id))
    secret = _new_secret(provider)
    new = webhooks.create(conn, org_id, provider, secret=secret, name=SOURCE_NAME)
    return new.source.id, secret


# ----- waiting for the pipeline ---------------------------------------------------------------------------------


def wait_until_counted(url: str | None, timeout: float = 300.0) -> bool:
    """True once the ingest and aggregate queues are both empty, i.e. everything sent is in the rollups.

    Sending is over when this is called, so every message is already queued. Ingest is read first: once it is
    empty, validate has committed every hand-off to aggregate (in the same transaction as its delete), so an empty
    aggregate queue read afterwards means every stored event has been folded into the rollups."""
    cfg = tools_settings.get()
    deadline = time.monotonic() + timeout
    with db.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if queues.depth(conn, cfg.ingest_queue).length == 0 and queues.depth(conn, cfg.aggregate_queue).length == 0:
                return True
            time.sleep(0.2)
    return False


def wait_for_views(url: str | None, org_id: UUID, timeout: float = 60.0) -> bool:
    """True once the materialized views (funnel, bookings) have seen every change of the organization."""
    deadline = time.monotonic() + timeout
    with db.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            # A change not yet refreshed is listed as pending (even before a first refresh); none listed: fresh.
            if not any(f.pending for f in funnels.freshness(conn, org_id)):
                return True
            time.sleep(0.5)
    return False


# ----- headline numbers -----------------------------------------------------------------------------------------


class Money(BaseModel):
    currency: str
    gross_minor: int
    refunds_minor: int
    net_minor: int
    payments: int


class Headline(BaseModel):
    """The year in numbers, read back through shared.metrics."""

    organization_id: UUID
    start: datetime
    end: datetime
    timezone: str
    inquiries: int
    top_lead_sources: list[tuple[str, int]]
    busiest_month: tuple[str, int] | None
    bookings: int
    cancellations: int
    conversion_rate: float | None  # clients whose first inquiry was in the year and who booked (views)
    booking_value: list[tuple[str, int]]
    revenue: list[Money]
    home_revenue: home.HomeRevenue
    payments_failed: int
    average_rating: float | None
    reviews: int
    nps: float | None
    emails_sent: int
    email_delivery_rate: float | None
    email_open_rate: float | None
    email_click_rate: float | None
    email_bounce_rate: float | None
    form_completion_rate: float | None
    journey_completion_rate: float | None
    notification_delivery_rate: float | None
    app_actions: int
    active_clients: int
    season_pipeline: list[str] = []  # by wedding date: this season and the next (weddings.season_lines)


def headline(conn: Connection[Any], org_id: UUID, start: datetime, end: datetime) -> Headline:
    t = rollups.totals(conn, org_id, start, end)

    def one(name: str) -> Any:
        return t.metrics[name][0].value

    sources = rollups.breakdown(conn, org_id, "inquiries", "lead_source", start, end).rows
    monthly = rollups.timeseries(conn, org_id, "inquiries", "month", start, end).series[0].points
    peak = max(monthly, key=lambda p: p.value or 0, default=None)
    funnel = funnels.funnel(conn, org_id, start, end)
    return Headline(
        organization_id=org_id,
        start=start,
        end=end,
        timezone=t.timezone,
        inquiries=one("inquiries"),
        top_lead_sources=[(r.key or "(not said)", int(r.value or 0)) for r in sources[:3]],
        busiest_month=(f"{peak.start:%B %Y}", int(peak.value or 0)) if peak and peak.value else None,
        bookings=one("bookings"),
        cancellations=one("cancellations"),
        conversion_rate=funnel.conversion_rate,
        booking_value=[(v.currency or "", int(v.value or 0)) for v in t.metrics["booking_value"]],
        revenue=[
            Money(
                currency=r.currency,
                gross_minor=r.gross_minor,
                refunds_minor=r.refunds_minor,
                net_minor=r.net_minor,
                payments=r.payments,
            )
            for r in rollups.revenue(conn, org_id, start, end)
        ],
        home_revenue=home.revenue(conn, org_id, start, end),
        payments_failed=one("payments_failed"),
        average_rating=one("review_rating"),
        reviews=one("reviews_rated"),
        nps=one("nps"),
        emails_sent=one("emails_sent"),
        email_delivery_rate=one("email_delivery_rate"),
        email_open_rate=one("email_open_rate"),
        email_click_rate=one("email_click_rate"),
        email_bounce_rate=one("email_bounce_rate"),
        form_completion_rate=one("form_completion_rate"),
        journey_completion_rate=one("journey_completion_rate"),
        notification_delivery_rate=one("notification_delivery_rate"),
        app_actions=one("app_actions"),
        active_clients=one("active_clients"),
        season_pipeline=_season_pipeline(conn, org_id, end),
    )


def _season_pipeline(conn: Connection[Any], org_id: UUID, end: datetime) -> list[str]:
    month = seasons.settings_month()
    year = seasons.of((end - timedelta(seconds=1)).date(), month)
    first, last = seasons.bounds(year, month)[0], seasons.bounds(year + 1, month)[1] - timedelta(days=1)
    return weddings.season_lines(weddings.answer(conn, org_id, "season", first, last, now=end - timedelta(seconds=1)))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render(h: Headline, name: str) -> list[str]:
    last = (h.end - timedelta(seconds=1)).astimezone(ZoneInfo(h.timezone)).date()
    first = h.start.astimezone(ZoneInfo(h.timezone)).date()
    lines = [f"{name}", f"  {first} to {last} ({h.timezone})", ""]
    sources = ", ".join(f"{k} {v:,}" for k, v in h.top_lead_sources)
    lines.append(f"  inquiries       {h.inquiries:>8,}   top sources: {sources}")
    if h.busiest_month:
        lines.append(f"                             busiest month: {h.busiest_month[0]} ({h.busiest_month[1]:,})")
    lines.append(
        f"  bookings        {h.bookings:>8,}   conversion {_pct(h.conversion_rate)}, {h.cancellations:,} cancelled"
    )
    for cur, value in h.booking_value:
        lines.append(f"  booked value    {currencies.format_minor(value, cur):>16}")
    lines.extend(f"  {line}" for line in h.season_pipeline)
    for r in h.revenue:
        lines.append(
            f"  revenue {r.currency}     gross {currencies.format_minor(r.gross_minor, r.currency)}, "
            f"refunds {currencies.format_minor(r.refunds_minor, r.currency)}, "
            f"net {currencies.format_minor(r.net_minor, r.currency)} ({r.payments:,} payments)"
        )
    hr = h.home_revenue
    lines.append(
        f"  revenue in {hr.currency} gross {currencies.format_minor(hr.gross_minor, hr.currency)}, "
        f"refunds {currencies.format_minor(hr.refunds_minor, hr.currency)}, "
        f"net {currencies.format_minor(hr.net_minor, hr.currency)} (all currencies, {hr.source}s of each day)"
    )
    for n in hr.not_convertible:
        lines.append(
            f"    not in the {hr.currency} total: {currencies.format_minor(n.net_minor, n.currency)} net of "
            f"{n.first_day} to {n.last_day} ({n.reason})"
        )
    lines.append(f"  failed payments {h.payments_failed:>8,}")
    rating = "-" if h.average_rating is None else f"{h.average_rating:.2f} / 5"
    nps = "-" if h.nps is None else f"{h.nps:+.0f}"
    lines.append(f"  reviews         {h.reviews:>8,}   average rating {rating}, NPS {nps}")
    lines.append(
        f"  emails sent     {h.emails_sent:>8,}   delivered {_pct(h.email_delivery_rate)}, "
        f"opened {_pct(h.email_open_rate)}, clicked {_pct(h.email_click_rate)}, "
        f"bounced {_pct(h.email_bounce_rate)}"
    )
    lines.append(f"  forms                      completion {_pct(h.form_completion_rate)}")
    lines.append(f"  journeys                   completion {_pct(h.journey_completion_rate)}")
    lines.append(f"  notifications              delivered {_pct(h.notification_delivery_rate)}")
    lines.append(f"  team            {h.app_actions:>8,}   app actions; {h.active_clients:,} active clients")
    return lines


# ----- reports ---------------------------------------------------------------------------------------------------


def _write_reports(org_id: UUID, year_start: datetime, year_end: datetime, out: Out = print) -> None:
    """The year's monthly reports (HTML, PDF, CSV), stored as the report function stores them, not delivered:
    a demo must not email anyone."""
    from shared.report import generation

    first, last = year_start.date(), (year_end - timedelta(days=1)).date()
    records = generation.backfill(org_id, "monthly", first, last, deliver=False)
    stored = report_settings.get()
    where = stored.reports_s3_bucket or stored.reports_local_dir
    out(f"\n{len(records)} monthly report(s) written to {where}:")
    for record in records:
        pdf = record.files.get("pdf", {})
        out(f"  {record.period_start:%B %Y}  {pdf.get('key', '')}")
    out("List and download them with: wedsync-analytics report --list --org " + str(org_id))


# ----- the whole demo -------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    year: demo_year.Year
    organization: Organization
    sent: delivery.Sent
    counted: bool
    views_fresh: bool
    headline: Headline


def run(
    ingest_url: str,
    *,
    seed: int = 1,
    months: int = 12,
    org_id: UUID | None = None,
    end_day: date | None = None,
    database_url: str | None = None,
    out: Out = print,
    progress: bool = True,
    workers: int = delivery.WORKERS,
    views_timeout: float = 60.0,
) -> Outcome:
    """Generate, send, wait until counted, print the headline numbers. `database_url`: the pipeline's database
    (default: the configured one), used to set up the organization and sources and to read the numbers."""
    url = database_url or db.database_url()
    business, given = demo_business.Business(), None
    if org_id is not None:
        with db.transaction(url) as conn:
            given = existing_organization(conn, org_id)
        business = demo_business.Business(
            timezone=given.timezone,
            currency=given.currency,
            destination_currency=None if given.currency == "EUR" else "EUR",
        )
    y = story.generate(seed, months=months, end_day=end_day, business=business)
    if y.end > datetime.now(UTC):
        raise ValueError(
            f"the end day {y.end_day} is in the future in {business.timezone}: the demo sends only "
            "the past (the default is today, so the year ends yesterday)"
        )
    with db.transaction(url) as conn:
        org = given or find_or_create_organization(conn, organization_name(y), business)
        key = apikeys.create(conn, org.id, ["ingest"], name="demo (revoked after the run)")
        stripe_source, stripe_secret = demo_source(conn, org.id, "stripe")
        resend_source, resend_secret = demo_source(conn, org.id, "resend")
    out(
        f"demo: {y.business.name}, {y.first_day} to {y.end_day - timedelta(days=1)}, seed {seed}: "
        f"{len(y.events):,} events and {len(y.deliveries):,} webhook deliveries (Stripe, Resend) "
        f"for organization {org.id}"
    )
    target = delivery.Target(ingest_url, key.key, stripe_source, stripe_secret, resend_source, resend_secret)
    began = time.monotonic()
    try:
        sent = delivery.send(y, target, workers=workers, progress=delivery.Progress(y.size) if progress else None)
    finally:
        with db.transaction(url) as conn:
            apikeys.revoke(conn, key.prefix)
    out(
        f"sent: {sent.accepted:,} accepted, {sent.duplicates:,} duplicates, {len(sent.rejected):,} rejected, "
        f"{sent.deliveries:,} webhook deliveries queued, in {time.monotonic() - began:.1f} s"
    )
    for rejected in sent.rejected[:3]:  # the generator's events fit the catalog; if not, say why
        out(f"rejected {rejected.get('event_id')}: {rejected.get('errors')}")
    out("waiting for the pipeline to count everything ...")
    counted = wait_until_counted(url)
    if counted:
        out(f"counted: every event is in the rollups {time.monotonic() - began:.1f} s after the first was sent")
    views = counted and wait_for_views(url, org.id, views_timeout)
    if not counted:
        out("the pipeline did not drain within 5 minutes; the numbers below are partial")
    elif not views:
        out("the funnel views are not refreshed yet; conversion may be behind")
    with db.connect(url, autocommit=True) as conn:
        fxload.ensure_loaded(conn)
        numbers = headline(conn, org.id, y.start, y.end)
        dead = db.fetch_scalar(conn, "demo_dead_letter_count", {"organization_id": org.id})
    out("")
    for line in render(numbers, org.name):
        out(line)
    if dead:
        out(f"\n{dead} dead letter(s): wedsync-analytics dead-letters list --org {org.id}")
    _write_reports(org.id, y.start, y.end, out)
    return Outcome(y, org, sent, counted, views, numbers)
