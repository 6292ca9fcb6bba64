"""A year of a wedding business, generated: the events WedSync would have sent and the webhooks Stripe and
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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.catalog import currencies

# Relative inquiry volume per month: the engagement season after Christmas and New Year dominates.
SEASON = {1: 2.2, 2: 2.0, 3: 1.6, 4: 1.1, 5: 0.9, 6: 0.75, 7: 0.7, 8: 0.8, 9: 0.9, 10: 0.8, 11: 0.7, 12: 1.3}
# Relative share of weddings per month: May to September.
WEDDING_MONTHS = {1: 1, 2: 2, 3: 3, 4: 6, 5: 12, 6: 16, 7: 16, 8: 16, 9: 14, 10: 8, 11: 2, 12: 3}
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


@dataclass(frozen=True)
class Package:
    slug: str
    price: int  # major units of the business currency
    weight: int


@dataclass(frozen=True)
class LeadSource:
    name: str
    weight: float
    channel: str
    conversion: float  # share of its inquiries that book


@dataclass(frozen=True)
class Business:
    """Who the demo is about. The defaults: a UK wedding photographer who also shoots a few weddings abroad."""

    name: str = "Rose & Thorn Photography"
    timezone: str = "Europe/London"
    currency: str = "GBP"
    destination_currency: str | None = "EUR"  # about 1 in 10 weddings abroad, quoted and paid in this currency
    marketplace: str = "hitched"  # the wedding directory of the market (the_knot in the US)
    team: tuple[str, ...] = ("u-rose", "u-tom", "u-mia")
    inquiries_per_day: float = 1.0  # average before seasonality
    packages: tuple[Package, ...] = (
        Package("elopement", 950, 10),
        Package("half_day", 1650, 25),
        Package("full_day", 2400, 45),
        Package("full_day_album", 3200, 20),
    )

    def lead_sources(self) -> tuple[LeadSource, ...]:
        return (
            LeadSource("instagram", 30, "social", 0.18),
            LeadSource("google", 20, "web_form", 0.22),
            LeadSource("wedding_fair", 9, "walk_in", 0.30),
            LeadSource("referral", 14, "referral", 0.45),
            LeadSource(self.marketplace, 12, "marketplace", 0.15),
            LeadSource("website", 15, "web_form", 0.25),
        )


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as the provider would post it. A redelivery is a second Delivery with the same id."""

    provider: Literal["stripe", "resend"]
    delivery_id: str  # the Stripe event id, or the svix-id of a Resend delivery
    occurred_at: datetime
    document: dict[str, Any]


@dataclass
class Year:
    business: Business
    seed: int
    months: int
    first_day: date
    end_day: date  # exclusive
    start: datetime  # local midnight of first_day, as an aware UTC instant
    end: datetime  # local midnight of end_day
    events: list[dict[str, Any]] = field(default_factory=list)  # first-party catalog events for POST /v1/events
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.events) + len(self.deliveries)


def first_day_of(end_day: date, months: int) -> date:
    """The same day of the month `months` months before end_day (clamped to the month's length)."""
    month_index = end_day.year * 12 + end_day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(end_day.day, last))


def generate(seed: int, *, months: int = 12, end_day: date | None = None, business: Business | None = None) -> Year:
    """The `months` months of whole local days before `end_day` (default: today in the business's zone)."""
    if not 1 <= months <= 36:
        raise ValueError("months must be between 1 and 36")
    business = business or Business()
    tz = ZoneInfo(business.timezone)
    end_day = end_day or datetime.now(tz).date()
    first = first_day_of(end_day, months)
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    year = Year(business, seed, months, first, end_day, start, datetime.combine(end_day, time(), tz).astimezone(UTC))
    _Story(year, random.Random(seed), tz).tell()
    year.events.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
    year.deliveries.sort(key=lambda d: (d.occurred_at, d.delivery_id))
    return year


@dataclass
class _Client:
    id: str
    email: str
    source: LeadSource
    inquiry_at: datetime
    wedding: date
    pays_by_card: bool


@dataclass
class _Charge:
    """A successful card payment, kept so refunds can list the charge's refunds as Stripe does."""

    charge_id: str
    pi_id: str
    amount: int
    currency: str
    metadata: dict[str, str]
    refunds: list[dict[str, Any]] = field(default_factory=list)


class _Story:
    def __init__(self, year: Year, rng: random.Random, tz: ZoneInfo) -> None:
        self.y, self.rng, self.tz, self.b = year, rng, tz, year.business
        self.tag = f"d{year.seed}m{year.months}-{year.end_day:%Y%m%d}"
        self.stripe_tag = self.tag.replace("-", "")
        self.n = 0
        self.clients: list[_Client] = []

    # ----- primitives -----------------------------------------------------------------------------------------

    def next_id(self, prefix: str = "") -> str:
        self.n += 1
        return f"{self.tag}-{prefix}{self.n:06d}"

    def stripe_id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.stripe_tag}x{self.n:06d}"

    def inside(self, t: datetime) -> bool:
        return self.y.start <= t < self.y.end

    def local(self, day: date, hour: int, minute: int | None = None) -> datetime:
        m = self.rng.randrange(60) if minute is None else minute
        return datetime.combine(day, time(hour, m, self.rng.randrange(60)), self.tz).astimezone(UTC)

    def poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def minor(self, major: int, currency: str) -> int:
        return int(major * 10 ** currencies.exponent(currency))

    def emit(self, type_: str, t: datetime, data: dict[str, Any], client_id: str | None = None) -> None:
        event_id = self.next_id()
        if not self.inside(t):
            return
        event: dict[str, Any] = {"event_id": event_id, "type": type_, "occurred_at": t.isoformat(), "data": data}
        if client_id is not None:
            event["client_id"] = client_id
        self.y.events.append(event)

    def deliver(
        self, provider: Literal["stripe", "resend"], delivery_id: str, t: datetime, document: dict[str, Any]
    ) -> None:
        if not self.inside(t):
            return
        self.y.deliveries.append(Delivery(provider, delivery_id, t, document))
        if provider == "stripe" and self.rng.random() < 0.04:  # Stripe retries when an answer was slow or lost
            self.y.deliveries.append(Delivery(provider, delivery_id, t + timedelta(minutes=5), document))

    # ----- the year -------------------------------------------------------------------------------------------

    def tell(self) -> None:
        day = self.y.first_day - timedelta(days=_BACKLOG_DAYS)
        sources = self.b.lead_sources()
        while day < self.y.end_day:
            lam = self.b.inquiries_per_day * SEASON[day.month] * _WEEKDAY[day.weekday()]
            for _ in range(self.poisson(lam)):
                self.inquiry(day, sources)
            day += timedelta(days=1)
        self.newsletters()
        self.team_days()

    def inquiry(self, day: date, sources: tuple[LeadSource, ...]) -> None:
        rng = self.rng
        fair = 3.0 if day.month in (1, 2, 9, 10) else 0.3  # wedding fairs run in winter and early autumn
        source = rng.choices(sources, [s.weight * (fair if s.name == "wedding_fair" else 1) for s in sources])[0]
        hour = rng.choices([h for h, _ in _EVENING], [w for _, w in _EVENING])[0]
        at = self.local(day, hour)
        k = len(self.clients) + 1
        client = _Client(
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
        month = rng.choices(list(WEDDING_MONTHS), list(WEDDING_MONTHS.values()))[0]
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

    def booking(self, client: _Client, inquiry_id: str, at: datetime) -> None:
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

    def pay(
        self,
        client: _Client,
        booking_id: str,
        amount: int,
        currency: str,
        kind: str,
        due: datetime,
        meta: dict[str, str],
        checkout: bool = False,
    ) -> _Charge | None:
        """A payment made at `due`: by card through Stripe (sometimes declined first), or by bank transfer."""
        rng = self.rng
        if not client.pays_by_card:
            self.emit(
                "payment.succeeded",
                due,
                {
                    "payment_id": self.next_id("bt"),
                    "amount_minor": amount,
                    "currency": currency,
                    "kind": kind,
                    "booking_id": booking_id,
                    "method": "bank_transfer",
                },
                client.id,
            )
            self.notify("payment_received", "in_app", due + timedelta(minutes=1))
            return None
        pi_id, metadata = self.stripe_id("pi"), {**meta, "kind": kind}
        intent = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "currency": currency.lower(),
            "metadata": metadata,
            "payment_method_types": ["card"],
            "latest_charge": "ch_" + pi_id[3:],
        }
        paid_at = due
        if rng.random() < 0.06:
            code = rng.choice(["insufficient_funds", "generic_decline", "expired_card", "do_not_honor"])
            failed = {
                **intent,
                "amount_received": 0,
                "status": "requires_payment_method",
                "last_payment_error": {"code": "card_declined", "decline_code": code},
            }
            self.stripe_event("payment_intent.payment_failed", failed, due)
            self.notify("payment_failed", "email", due + timedelta(minutes=1), client_id=client.id)
            paid_at = due + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 6))
        succeeded = {**intent, "amount_received": amount, "status": "succeeded", "last_payment_error": None}
        if checkout:  # paid through a Checkout link: Stripe reports the session and the PaymentIntent
            session = {
                "id": self.stripe_id("cs"),
                "object": "checkout.session",
                "mode": "payment",
                "payment_status": "paid",
                "status": "complete",
                "payment_intent": pi_id,
                "amount_total": amount,
                "currency": currency.lower(),
                "metadata": metadata,
                "client_reference_id": client.id,
            }
            self.stripe_event("checkout.session.completed", session, paid_at)
        self.stripe_event("payment_intent.succeeded", succeeded, paid_at + timedelta(seconds=2))
        self.notify("payment_received", "in_app", paid_at + timedelta(minutes=1))
        return _Charge("ch_" + pi_id[3:], pi_id, amount, currency.lower(), metadata)

    def refund(
        self,
        client: _Client,
        booking_id: str,
        charge: _Charge | None,
        amount: int,
        currency: str,
        at: datetime,
        reason: str,
    ) -> None:
        if charge is None:  # paid by bank transfer: the refund is recorded in WedSync
            self.emit(
                "payment.refunded",
                at,
                {
                    "payment_id": self.next_id("bt"),
                    "refund_id": self.next_id("rf"),
                    "amount_minor": amount,
                    "currency": currency,
                    "booking_id": booking_id,
                    "reason": reason,
                },
                client.id,
            )
            return
        charge.refunds.append(
            {
                "id": self.stripe_id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge.charge_id,
                "currency": charge.currency,
                "created": int(at.timestamp()),
                "payment_intent": charge.pi_id,
                "reason": "requested_by_customer",
                "status": "succeeded",
            }
        )
        refunded = sum(r["amount"] for r in charge.refunds)
        obj = {
            "id": charge.charge_id,
            "object": "charge",
            "amount": charge.amount,
            "amount_captured": charge.amount,
            "amount_refunded": refunded,
            "currency": charge.currency,
            "metadata": charge.metadata,
            "payment_intent": charge.pi_id,
            "refunded": refunded == charge.amount,
            "status": "succeeded",
            # every charge.refunded lists all refunds so far: the earlier ones again
            "refunds": {"object": "list", "has_more": False, "data": [dict(r) for r in charge.refunds]},
        }
        self.stripe_event("charge.refunded", obj, at)

    def stripe_event(self, type_: str, obj: dict[str, Any], at: datetime) -> None:
        evt_id = self.stripe_id("evt")
        self.deliver(
            "stripe",
            evt_id,
            at,
            {
                "id": evt_id,
                "object": "event",
                "api_version": "2024-06-20",
                "created": int(at.timestamp()),
                "data": {"object": obj},
                "livemode": False,
                "pending_webhooks": 1,
                "type": type_,
            },
        )

    # ----- emails, notifications, reviews, the team ---------------------------------------------------------

    def email(
        self,
        client: _Client,
        template: str,
        at: datetime,
        *,
        resend: bool,
        opened: float,
        clicked: float,
        campaign: str | None = None,
    ) -> None:
        """One email and what became of it; transactional ones arrive as Resend webhooks."""
        rng = self.rng
        message = self.next_id("m")
        steps: list[tuple[str, datetime, dict[str, Any]]] = [("email.sent", at, {})]
        if rng.random() < (0.02 if resend else 0.012):
            hard = rng.random() < 0.6
            steps.append(("email.bounced", at + timedelta(seconds=40), {"bounce_type": "hard" if hard else "soft"}))
        else:
            steps.append(("email.delivered", at + timedelta(seconds=20), {}))
            if rng.random() < opened:
                seen = at + timedelta(minutes=rng.expovariate(1 / 240))
                steps.append(("email.opened", seen, {}))
                if rng.random() < clicked:
                    steps.append(
                        (
                            "email.clicked",
                            seen + timedelta(seconds=rng.randint(5, 300)),
                            {"url": f"https://roseandthorn.example/{template.replace('_', '-')}"},
                        )
                    )
            elif rng.random() < 0.004:
                steps.append(("email.complained", at + timedelta(hours=rng.randint(1, 48)), {}))
        for type_, when, extra in steps:
            if resend:
                self.resend(type_, message, client, template, when, extra)
            else:
                data = {"message_id": message, "template": template, "recipient": client.email, **extra}
                if campaign:
                    data["campaign"] = campaign
                self.emit(type_, when, data, client.id)

    def resend(
        self, type_: str, message: str, client: _Client, template: str, at: datetime, extra: dict[str, Any]
    ) -> None:
        svix_id = "msg_" + self.next_id().replace("-", "")
        data: dict[str, Any] = {
            "email_id": message,
            "created_at": at.isoformat(),
            "from": f"{self.b.name} <hello@roseandthorn.example>",
            "to": [client.email],
            "subject": template.replace("_", " ").capitalize(),
            "tags": {"template": template, "client_id": client.id},
        }
        if "url" in extra:
            data["click"] = {"link": extra["url"], "timestamp": at.isoformat(), "userAgent": "Mozilla/5.0"}
        if "bounce_type" in extra:
            data["bounce"] = {
                "type": "Permanent" if extra["bounce_type"] == "hard" else "Transient",
                "message": "The recipient's mailbox is unavailable.",
            }
        self.deliver("resend", svix_id, at, {"type": type_, "created_at": at.isoformat(), "data": data})

    def notify(
        self, template: str, channel: str, at: datetime, *, client_id: str | None = None, clicked: float = 0.0
    ) -> None:
        rng = self.rng
        base = {"notification_id": self.next_id("n"), "channel": channel, "template": template}
        self.emit("notification.sent", at, base, client_id)
        if rng.random() < (0.04 if channel == "sms" else 0.01):
            self.emit(
                "notification.failed",
                at + timedelta(seconds=5),
                {**base, "error_code": "unreachable" if channel == "sms" else "token_expired"},
                client_id,
            )
            return
        self.emit("notification.delivered", at + timedelta(seconds=3), base, client_id)
        if channel in ("push", "in_app", "email") and rng.random() < 0.8:
            seen = at + timedelta(minutes=rng.randint(1, 180))
            self.emit("notification.opened", seen, base, client_id)
            if rng.random() < clicked:
                self.emit("notification.clicked", seen + timedelta(seconds=10), base, client_id)

    def review(self, client: _Client, booking_id: str, at: datetime) -> None:
        rng = self.rng
        rating = rng.choices([5, 4, 3, 2, 1], [74, 19, 5, 1.5, 0.5])[0]
        nps = min(10, max(0, {5: 9, 4: 8, 3: 6, 2: 4, 1: 2}[rating] + rng.choice([-1, 0, 0, 1, 1])))
        self.emit(
            "review.received",
            at,
            {
                "review_id": self.next_id("r"),
                "rating": rating,
                "nps": nps,
                "platform": rng.choice(["google", self.b.marketplace, "facebook"]),
                "booking_id": booking_id,
            },
            client.id,
        )

    def app_action(self, user: str, action: str, screen: str, at: datetime) -> None:
        self.emit("app.action", at, {"user_id": user, "action": action, "screen": screen})

    def newsletters(self) -> None:
        """A monthly newsletter (sent by WedSync itself, first-party) to every client known by then."""
        month = self.y.first_day.replace(day=1)
        while month < self.y.end_day:
            tuesday = month + timedelta(days=(1 - month.weekday()) % 7)
            at = self.local(tuesday, 10, 0)
            campaign = f"newsletter_{month:%Y_%m}"
            for client in self.clients:
                if client.inquiry_at < at:
                    self.email(
                        client,
                        "newsletter",
                        at + timedelta(seconds=self.rng.randint(0, 600)),
                        resend=False,
                        opened=0.38,
                        clicked=0.16,
                        campaign=campaign,
                    )
            month = (month + timedelta(days=32)).replace(day=1)

    def team_days(self) -> None:
        actions = (
            ("open_dashboard", "dashboard", 30),
            ("view_calendar", "calendar", 15),
            ("edit_gallery", "galleries", 20),
            ("update_timeline", "timelines", 8),
            ("send_invoice", "invoices", 5),
            ("edit_contract", "contracts", 4),
            ("export_report", "reports", 2),
            ("view_client", "clients", 16),
        )
        day = self.y.first_day
        while day < self.y.end_day:
            busy = 1.6 if day.month in (5, 6, 7, 8, 9) else 1.0  # editing galleries in wedding season
            for i, user in enumerate(self.b.team):
                lam = (7.0 if i == 0 else 4.0) * busy * (0.35 if day.weekday() == 6 else 1.0)
                for _ in range(self.poisson(lam)):
                    action, screen, _ = self.rng.choices(actions, [a[2] for a in actions])[0]
                    self.app_action(user, action, screen, self.local(day, self.rng.randint(8, 19)))
            day += timedelta(days=1)
