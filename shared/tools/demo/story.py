"""A year of a wedding business, told as a story: the events WedSync would have sent and the webhooks Stripe and
Resend would have delivered.

Guarantees:
* Deterministic: the same (seed, months, end day, business) gives the same events, payloads and ids, so sending
  a year twice stores nothing new (every event id is derived from that tuple and a running number).
* Only the past: the year is the `months` months of whole local days before `end_day` (exclusive); nothing at or
  after the end is produced, so every event is acceptable to ingest.
* A story, not noise: inquiries peak in engagement season (January to March) and the weddings they book cluster
  from May to September; each client walks inquiry > brochure > (maybe) booking > deposit > instalments > balance >
  wedding > gallery > review, with the failures, cancellations and refunds a real year has. Clients who inquired
  up to 18 months before the window are simulated too, so the year also holds balances and reviews of weddings
  booked before it (their earlier events fall outside the window and are not produced).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.tools.demo import business as demo_business
from shared.tools.demo import payments, recorder
from shared.tools.demo import year as demo_year

_WEEKDAY = (1.3, 1.1, 1.0, 1.0, 0.9, 0.7, 1.2)  # Monday first: Sundays and Mondays bring the most inquiries
_EVENING = [(h, 3 if 19 <= h <= 22 else 1) for h in range(7, 24)]
_BACKLOG_DAYS = 540
_FIRST = (
    "ava",
    "olivia",
    "isla",
    "amelia",
    "mia",
    "grace",
    "ella",
    "lily",
    "sophie",
    "chloe",
    "emma",
    "zara",
    "james",
    "oliver",
    "noah",
    "harry",
    "leo",
    "jack",
    "sam",
    "ben",
    "theo",
    "arjun",
    "mateo",
    "finn",
)
_LAST = (
    "smith",
    "jones",
    "taylor",
    "brown",
    "evans",
    "walsh",
    "patel",
    "khan",
    "murphy",
    "wright",
    "hughes",
    "green",
    "hall",
    "wood",
    "clarke",
    "price",
    "bennett",
    "shaw",
    "lloyd",
    "ward",
)


def generate(
    seed: int, *, months: int = 12, end_day: date | None = None, business: demo_business.Business | None = None
) -> demo_year.Year:
    """The `months` months of whole local days before `end_day` (default: today in the business's zone)."""
    if not 1 <= months <= 36:
        raise ValueError("months must be between 1 and 36")
    business = business or demo_business.Business()
    tz = ZoneInfo(business.timezone)
    end_day = end_day or datetime.now(tz).date()
    first = demo_year.first_day_of(end_day, months)
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    year = demo_year.Year(
        business, seed, months, first, end_day, start, datetime.combine(end_day, time(), tz).astimezone(UTC)
    )
    Story(year, random.Random(seed), tz).tell()
    year.events.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
    year.deliveries.sort(key=lambda d: (d.occurred_at, d.delivery_id))
    return year


class Story(payments.Payments):
    """Each client's walk from inquiry to review, day by day through the window and the backlog before it."""

    # ----- the year -------------------------------------------------------------------------------------------

    def tell(self) -> None:
        day = self.y.first_day - timedelta(days=_BACKLOG_DAYS)
        sources = self.b.lead_sources()
        while day < self.y.end_day:
            lam = self.b.inquiries_per_day * demo_business.SEASON[day.month] * _WEEKDAY[day.weekday()]
            for _ in range(self.poisson(lam)):
                self.inquiry(day, sources)
            day += timedelta(days=1)
        self.newsletters()
        self.team_days()

    def inquiry(self, day: date, sources: tuple[demo_business.LeadSource, ...]) -> None:
        rng = self.rng
        fair = 3.0 if day.month in (1, 2, 9, 10) else 0.3  # wedding fairs run in winter and early autumn
        source = rng.choices(sources, [s.weight * (fair if s.name == "wedding_fair" else 1) for s in sources])[0]
        hour = rng.choices([h for h, _ in _EVENING], [w for _, w in _EVENING])[0]
        at = self.local(day, hour)
        k = len(self.clients) + 1
        client = recorder.Client(
            f"{self.tag}-c{k:05d}",
            f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{k}@example.com",
            source,
            at,
            self.wedding_date(day),
            rng.random() < 0.85,
        )
        self.clients.append(client)
        inquiry_id = self.next_id("inq")
        if source.channel == "web_form":
            session = self.next_id("s")
            form = {"form_id": "enquiry", "form_name": "Wedding enquiry", "session_id": session}
            self.emit("form.started", at - timedelta(minutes=rng.randint(2, 15)), form)
            self.emit(
                "form.submitted", at - timedelta(seconds=30), {**form, "is_inquiry": True, "lead_source": source.name}
            )
        if rng.random() < 0.4:  # someone else started the form and gave up
            self.emit(
                "form.started",
                at + timedelta(hours=rng.randint(1, 40)),
                {"form_id": "enquiry", "form_name": "Wedding enquiry", "session_id": self.next_id("s")},
            )
        self.emit("client.created", at, {"lead_source": source.name, "email": client.email}, client.id)
        self.emit(
            "inquiry.received",
            at,
            {
                "inquiry_id": inquiry_id,
                "lead_source": source.name,
                "channel": source.channel,
                "wedding_date": client.wedding.isoformat(),
                "guest_count": rng.randrange(30, 181, 5),
                "budget_minor": self.minor(rng.randrange(1000, 4001, 250), self.b.currency),
                "currency": self.b.currency,
                "email": client.email,
            },
            client.id,
        )
        self.notify("new_inquiry", "push", at, clicked=0.6)
        reply = at + timedelta(minutes=rng.randint(20, 60 * 18))
        self.app_action(rng.choice(self.b.team), "view_inquiry", "inbox", reply - timedelta(minutes=5))
        self.app_action(rng.choice(self.b.team), "reply_inquiry", "inbox", reply)
        self.email(client, "brochure", reply, resend=True, opened=0.8, clicked=0.45)
        run, journey = self.next_id("run"), {"journey_id": "lead_nurture", "journey_name": "Lead nurture"}
        self.emit("journey.started", at, {**journey, "run_id": run}, client.id)
        self.emit("journey.step_completed", reply, {**journey, "run_id": run, "step_id": "welcome_email"}, client.id)
        lag = timedelta(days=min(60.0, max(1.0, rng.lognormvariate(math.log(12), 0.7))), hours=rng.randint(0, 10))
        booked_at = reply + lag
        books = rng.random() < source.conversion and booked_at.date() + timedelta(days=45) < client.wedding
        if not books or lag > timedelta(days=5):
            follow = reply + timedelta(days=4)
            self.email(client, "follow_up", follow, resend=True, opened=0.6, clicked=0.2)
            self.emit("journey.step_completed", follow, {**journey, "run_id": run, "step_id": "follow_up"}, client.id)
        if not books:
            end = at + timedelta(days=30)
            self.emit(
                "journey.abandoned",
                end,
                {**journey, "run_id": run, "duration_ms": int((end - at).total_seconds() * 1000)},
                client.id,
            )
            return
        self.emit(
            "journey.completed",
            booked_at,
            {**journey, "run_id": run, "duration_ms": int((booked_at - at).total_seconds() * 1000)},
            client.id,
        )
        self.booking(client, inquiry_id, booked_at)

    def wedding_date(self, inquired: date) -> date:
        rng = self.rng
        month = rng.choices(list(demo_business.WEDDING_MONTHS), list(demo_business.WEDDING_MONTHS.values()))[0]
        year = inquired.year
        while date(year, month, 1) < inquired + timedelta(days=150):
            year += 1
        if rng.random() < 0.3:
            year += 1
        first = date(year, month, 1)
        days = [first + timedelta(days=i) for i in range(31) if (first + timedelta(days=i)).month == month]
        saturdays = [d for d in days if d.weekday() == 5]
        others = [d for d in days if d.weekday() in (4, 6)]
        return rng.choice(saturdays if rng.random() < 0.8 else others)

    # ----- a booking and its money --------------------------------------------------------------------------

    def booking(self, client: recorder.Client, inquiry_id: str, at: datetime) -> None:
        rng = self.rng
        package = rng.choices(self.b.packages, [p.weight for p in self.b.packages])[0]
        currency, price = self.b.currency, package.price
        if self.b.destination_currency and rng.random() < 0.1:
            currency, price = self.b.destination_currency, int(round(package.price * 1.15, -1))
        value = self.minor(price, currency)
        booking_id = self.next_id("b")
        self.emit(
            "booking.confirmed",
            at,
            {
                "booking_id": booking_id,
                "package": package.slug,
                "value_minor": value,
                "currency": currency,
                "wedding_date": client.wedding.isoformat(),
                "inquiry_id": inquiry_id,
                "lead_source": client.source.name,
            },
            client.id,
        )
        self.app_action(rng.choice(self.b.team), "create_booking", "bookings", at)
        self.app_action(rng.choice(self.b.team), "send_contract", "contracts", at + timedelta(minutes=3))
        self.email(client, "booking_confirmation", at + timedelta(minutes=1), resend=True, opened=0.95, clicked=0.7)
        wedding = datetime.combine(client.wedding, time(12), self.tz).astimezone(UTC)
        run, journey = self.next_id("run"), {"journey_id": "onboarding", "journey_name": "Client onboarding"}
        self.emit("journey.started", at, {**journey, "run_id": run}, client.id)
        for step, when in (
            ("contract_signed", at + timedelta(days=rng.randint(1, 4))),
            ("questionnaire", wedding - timedelta(days=60)),
            ("timeline", wedding - timedelta(days=21)),
        ):
            self.emit(
                "journey.step_completed",
                max(when, at + timedelta(hours=1)),
                {**journey, "run_id": run, "step_id": step},
                client.id,
            )
        done = max(wedding - timedelta(days=14), at + timedelta(days=1))
        self.emit(
            "journey.completed",
            done,
            {**journey, "run_id": run, "duration_ms": int((done - at).total_seconds() * 1000)},
            client.id,
        )

        deposit = value // 4
        meta = {"client_id": client.id, "booking_id": booking_id}
        deposit_at = at + timedelta(minutes=rng.randint(30, 60 * 48))
        deposit_charge = self.pay(client, booking_id, deposit, currency, "deposit", deposit_at, meta, checkout=True)
        if rng.random() < 0.05:
            cancelled = at + timedelta(days=rng.randint(14, 150))
            if cancelled < wedding - timedelta(days=14):
                self.emit(
                    "booking.cancelled",
                    cancelled,
                    {
                        "booking_id": booking_id,
                        "reason": rng.choice(
                            ["wedding postponed", "venue fell through", "chose another photographer", "change of plans"]
                        ),
                    },
                )
                self.app_action(rng.choice(self.b.team), "cancel_booking", "bookings", cancelled)
                self.refund(
                    client,
                    booking_id,
                    deposit_charge,
                    deposit // 2,
                    currency,
                    cancelled + timedelta(days=rng.randint(1, 3)),
                    "requested_by_customer",
                )
                return
        remaining = value - deposit
        balance_due = max(wedding - timedelta(days=30), at + timedelta(days=7))
        if rng.random() < 0.35:
            parts = rng.randint(2, 3)
            share = remaining // (parts + 1)
            for i in range(1, parts + 1):
                due = at + timedelta(days=30 * i, hours=rng.randint(0, 8))
                if due >= balance_due:
                    break
                self.pay(client, booking_id, share, currency, "instalment", due, meta)
                remaining -= share
        balance_charge = self.pay(client, booking_id, remaining, currency, "balance", balance_due, meta)
        self.notify("wedding_reminder", "sms", wedding - timedelta(days=7), client_id=client.id)
        self.email(client, "questionnaire", wedding - timedelta(days=60), resend=True, opened=0.9, clicked=0.8)
        self.email(
            client,
            "gallery_delivery",
            wedding + timedelta(days=rng.randint(21, 35)),
            resend=True,
            opened=0.97,
            clicked=0.9,
        )
        asked = wedding + timedelta(days=rng.randint(36, 42))
        self.email(client, "review_request", asked, resend=True, opened=0.85, clicked=0.6)
        if rng.random() < 0.72:
            self.review(client, booking_id, asked + timedelta(days=rng.randint(1, 20)))
        if rng.random() < 0.03:  # a goodwill refund (a late album), sometimes topped up a week later
            when = wedding + timedelta(days=rng.randint(40, 60))
            self.refund(client, booking_id, balance_charge, self.minor(150, currency), currency, when, "goodwill")
            if rng.random() < 0.5:
                self.refund(
                    client,
                    booking_id,
                    balance_charge,
                    self.minor(50, currency),
                    currency,
                    when + timedelta(days=7),
                    "goodwill",
                )
