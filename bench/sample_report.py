"""Renders a sample report from a realistic year of a wedding photography business.

The year goes through the real pipeline in-process: intake.accept (ingest checks) -> validate -> aggregate ->
view refresh, then `shared.report.generate`. The PDF is turned into PNGs for docs/ with pdftoppm.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sample_report.py \
        --kind monthly --period 2026-10 --out docs/sample-report
(uses a throwaway database it creates and drops on that server). With --repeat N it regenerates the report N
times and prints the timings for BENCHMARKS.md; every run writes its figures, with commit, date and machine, as
JSON (bench/results/, or --json PATH).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import record, scratch
from shared import report as reports
from shared.aggregate import aggregation
from shared.core import apikeys, db, organizations
from shared.ingest import intake
from shared.refresh import views as refresh
from shared.report import access, periods
from shared.validate import validation

SOURCES = [
    ("instagram", 30),
    ("google", 24),
    ("referral", 16),
    ("the_knot", 10),
    ("wedding_fair", 8),
    ("venue", 7),
    ("pinterest", 5),
]
PACKAGES = [
    ("elopement", 95_000, 15),
    ("half_day", 180_000, 35),
    ("full_day", 320_000, 40),
    ("full_day_album", 425_000, 10),
]
# Inquiries per month peak in January (engagement season) and late summer.
SEASON = {1: 1.6, 2: 1.4, 3: 1.2, 4: 1.0, 5: 0.9, 6: 0.9, 7: 0.9, 8: 1.1, 9: 1.0, 10: 0.9, 11: 0.9, 12: 1.2}
WEDDING_MONTH = {5: 12, 6: 18, 7: 18, 8: 16, 9: 16, 10: 8, 4: 5, 3: 2, 11: 2, 12: 3}


def _pick(rng: random.Random, weighted: list[tuple[Any, ...]]) -> Any:
    return rng.choices(weighted, weights=[w[-1] for w in weighted])[0]


def wedding_year(
    start: date, end: date, tz: str, currency: str = "GBP", seed: int = 7, per_week: float = 9.0
) -> list[dict[str, Any]]:
    """Events of a plausible wedding business between start and end (local dates): inquiries by season and
    source, a third becoming bookings (package, deposit, instalments, balance before the wedding), some
    cancellations and refunds, reviews after the wedding, emails, notifications and client journeys."""
    rng = random.Random(seed)
    zone = ZoneInfo(tz)
    out: list[dict[str, Any]] = []
    n = 0

    def at(day: date, hour: int | None = None) -> str:
        h = hour if hour is not None else rng.choice([8, 9, 10, 12, 13, 19, 20, 21])
        return datetime.combine(day, time(h, rng.randrange(60)), zone).astimezone(UTC).isoformat()

    def ev(type_: str, day: date, client: str | None, **data: Any) -> None:
        nonlocal n
        n += 1
        if day > end:
            return
        e: dict[str, Any] = {"event_id": f"sample-{n}", "type": type_, "occurred_at": at(day), "data": data}
        if client:
            e["client_id"] = client
        out.append(e)

    day = start
    while day <= end:
        for _ in range(int(rng.random() + per_week / 7 * SEASON[day.month] * 1.0 + rng.random())):
            client = f"c-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
            source = _pick(rng, SOURCES)[0]
            wmonth = _pick(rng, list(WEDDING_MONTH.items()))[0]
            wyear = day.year + (1 if wmonth <= day.month + 2 else rng.choice([0, 1]))
            wedding = date(wyear, wmonth, rng.choice([6, 13, 20, 27]))
            if wedding <= day + timedelta(days=60):
                wedding = date(wyear + 1, wmonth, wedding.day)
            ev("client.created", day, client, lead_source=source)
            ev(
                "inquiry.received",
                day,
                client,
                lead_source=source,
                channel=rng.choice(["web_form", "email", "phone"]),
                wedding_date=wedding.isoformat(),
                guest_count=rng.randrange(30, 220),
            )
            ev("email.sent", day, client, message_id=f"m{n}", template="inquiry_reply")
            ev("email.delivered", day, client, message_id=f"m{n}", template="inquiry_reply")
            if rng.random() < 0.7:
                ev(
                    "email.opened",
                    day + timedelta(days=rng.randrange(2)),
                    client,
                    message_id=f"m{n}",
                    template="inquiry_reply",
                )
                if rng.random() < 0.4:
                    ev(
                        "email.clicked",
                        day + timedelta(days=rng.randrange(2)),
                        client,
                        message_id=f"m{n}",
                        template="inquiry_reply",
                        url="https://willowandwren.example/pricing",
                    )
            if rng.random() < 0.01:  # a form integration sending a misspelt currency: rejected at ingest
                ev(
                    "payment.succeeded",
                    day,
                    client,
                    payment_id=f"bad{n}",
                    amount_minor=5000,
                    currency="GPB",
                    kind="other",
                )
            if rng.random() < 0.34:  # books
                pkg, price, _ = _pick(rng, PACKAGES)
                booked = day + timedelta(days=int(rng.expovariate(1 / 12)) + 1)
                booking = f"b-{client[2:]}"
                ev(
                    "booking.confirmed",
                    booked,
                    client,
                    booking_id=booking,
                    package=pkg,
                    value_minor=price,
                    currency=currency,
                    wedding_date=wedding.isoformat(),
                    lead_source=source,
                )
                ev("journey.started", booked, client, journey_id="onboarding", run_id=f"r-{booking}")
                deposit = price // 4
                ev(
                    "payment.succeeded",
                    booked + timedelta(days=1),
                    client,
                    payment_id=f"p-{booking}-d",
                    amount_minor=deposit,
                    currency=currency,
                    kind="deposit",
                    booking_id=booking,
                    method=rng.choice(["card", "card", "bank_transfer"]),
                )
                if rng.random() < 0.05:
                    ev("booking.cancelled", booked + timedelta(days=rng.randrange(20, 90)), client, booking_id=booking)
                    if rng.random() < 0.5:
                        ev(
                            "payment.refunded",
                            booked + timedelta(days=rng.randrange(95, 100)),
                            client,
                            payment_id=f"p-{booking}-d",
                            amount_minor=deposit // 2,
                            currency=currency,
                        )
                    continue
                mid = booked + (wedding - booked) / 2
                ev(
                    "payment.succeeded",
                    mid,
                    client,
                    payment_id=f"p-{booking}-i",
                    amount_minor=price // 4,
                    currency=currency,
                    kind="instalment",
                    booking_id=booking,
                    method="card",
                )
                if rng.random() < 0.08:
                    ev(
                        "payment.failed",
                        wedding - timedelta(days=31),
                        client,
                        payment_id=f"p-{booking}-f",
                        amount_minor=price // 2,
                        currency=currency,
                        kind="balance",
                        failure_code="card_declined",
                    )
                ev(
                    "payment.succeeded",
                    wedding - timedelta(days=30),
                    client,
                    payment_id=f"p-{booking}-b",
                    amount_minor=price - deposit - price // 4,
                    currency=currency,
                    kind="balance",
                    booking_id=booking,
                    method="bank_transfer",
                )
                ev(
                    "journey.completed",
                    booked + timedelta(days=14),
                    client,
                    journey_id="onboarding",
                    run_id=f"r-{booking}",
                    duration_ms=14 * 86_400_000,
                )
                ev(
                    "notification.sent",
                    wedding - timedelta(days=7),
                    client,
                    notification_id=f"n-{booking}",
                    channel="sms",
                    template="final_details",
                )
                ev(
                    "notification.delivered",
                    wedding - timedelta(days=7),
                    client,
                    notification_id=f"n-{booking}",
                    channel="sms",
                )
                if rng.random() < 0.55:
                    rating = rng.choices([5, 4, 3], weights=[80, 16, 4])[0]
                    nps = {5: rng.choice([9, 10, 10]), 4: rng.choice([7, 8, 9]), 3: rng.choice([5, 6, 7])}[rating]
                    ev(
                        "review.received",
                        wedding + timedelta(days=rng.randrange(10, 40)),
                        client,
                        review_id=f"rv-{booking}",
                        rating=rating,
                        nps=nps,
                        platform=rng.choice(["google", "the_knot"]),
                    )
        day += timedelta(days=1)
    return out


def load(org: organizations.CreatedOrganization, events: list[dict[str, Any]], now: datetime) -> None:
    """Through the real stages, in process: ingest checks, validate, aggregate, view refresh."""
    caller = apikeys.Caller(
        key_id=uuid.uuid4(),
        organization_id=org.id,
        scopes=frozenset({"ingest"}),
        timezone=ZoneInfo(org.timezone),
        currency=org.currency,
    )
    # Sent as they happen, a week at a time, so the intake counters (data quality) fall in the right periods.
    events = sorted(events, key=lambda e: e["occurred_at"])
    i = 0
    while i < len(events):
        first = datetime.fromisoformat(events[i]["occurred_at"])
        j = i
        while j < len(events) and datetime.fromisoformat(events[j]["occurred_at"]) < first + timedelta(days=7):
            j += 1
        received = min(datetime.fromisoformat(events[j - 1]["occurred_at"]) + timedelta(minutes=5), now)
        intake.accept(db.transaction, caller, events[i:j], now=received)
        while validation.drain(db.transaction)[1]:
            pass
        i = j
    while aggregation.drain(db.transaction)[1]:
        pass
    refresh.run(db.transaction, force=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=["weekly", "monthly"], default="monthly")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--timezone", default="Europe/London")
    parser.add_argument("--out", default=str(ROOT / "docs" / "sample-report"))
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=0, help="then regenerate N times and report the timings")
    record.add_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = record.start()
    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    os.environ.setdefault("REPORTS_LOCAL_DIR", str(Path(args.out).parent / ".sample-files"))
    with scratch.database(server, "sample"):
        with db.transaction() as conn:
            validation.ensure_partitions(conn, date(2024, 1, 1), months_ahead=48)
            org = organizations.create(
                conn,
                organizations.NewOrganization(name="Willow & Wren Photography", timezone=args.timezone, currency="GBP"),
            )
        period = periods.parse(args.kind, args.period)
        now = datetime.combine(period.end + timedelta(days=1), time(6), ZoneInfo(args.timezone))
        events = wedding_year(period.end - timedelta(days=730), period.last_day, args.timezone)
        load(org, events, now)
        rec = reports.generate(db.transaction, org.id, args.kind, period.start, deliver=False, now=now)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with db.transaction() as conn:
            for fmt in ("pdf", "html", "csv"):
                body, _, _ = access.report_file(conn, org.id, rec.id, fmt)
                out.with_suffix(f".{fmt}").write_bytes(body)
        subprocess.run(["pdftoppm", "-png", "-r", str(args.dpi), str(out.with_suffix(".pdf")), str(out)], check=True)
        print(f"{len(events)} events; report {rec.id} ({rec.status}, {rec.generation_ms} ms); files: {out}.*")
        figures: dict[str, Any] = {
            "events": len(events),
            "status": rec.status,
            "first_generation_ms": rec.generation_ms,
        }
        if args.repeat:
            times = []
            for _ in range(args.repeat):
                again = reports.generate(
                    db.transaction, org.id, args.kind, period.start, deliver=False, now=now, regenerate=True
                )
                times.append(again.generation_ms or 0)
            times.sort()
            print(
                f"regenerated {args.repeat}x: min {times[0]} ms, median {times[len(times) // 2]} ms, "
                f"max {times[-1]} ms (content from shared.metrics + charts + HTML + PDF + CSV + storage)"
            )
            figures["regenerated_ms"] = {
                "min": times[0],
                "median": times[len(times) // 2],
                "max": times[-1],
                "runs": times,
            }
        record.write("sample_report", args, figures, database_url=server, started=started, path=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
