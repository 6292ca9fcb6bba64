"""The metric registry: every business metric the dashboard and the reports know, and how it is computed.

Every metric has a name, a description, a unit and the breakdown dimensions it allows (`REGISTRY`). A metric
is a formula over rollup sums (`Part`s); money is always kept per currency and never summed across
currencies. `rollups` evaluates these formulas; this module only defines them, so both the query-parameter
models and the computations read one list.

API: catalog() -> list[MetricInfo]; get(name) -> Metric; REGISTRY; ACTIVE_CLIENTS (distinct clients, exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.core import errors
from shared.metrics import definitions

Unit = Literal["count", "money", "ratio", "score", "milliseconds", "days"]
Column = Literal["dim1", "dim2", "currency"]
Field_ = Literal["events", "amount_minor", "value_sum", "value_count"]


@dataclass(frozen=True)
class Part:
    """A sum over the rollup rows of one source metric (optionally only rows whose dim2 equals `dim2`)."""

    source: str
    field: Field_ = "events"
    dim2: str | None = None


class Metric(BaseModel):
    """One business metric: value = (sum(plus) - sum(minus)) [/ sum(over) * scale]."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    description: str
    unit: Unit
    dimensions: dict[str, Column] = Field(default_factory=dict, description="breakdown name -> rollup column")
    plus: tuple[Part, ...]
    minus: tuple[Part, ...] = ()
    over: tuple[Part, ...] = ()
    scale: float = 1.0
    per_currency: bool = False
    definition: str = Field("", description="What the metric counts, in plain words (docs/metrics.md)")

    @cached_property
    def sources(self) -> frozenset[str]:
        return frozenset(p.source for p in (*self.plus, *self.minus, *self.over))


REGISTRY: dict[str, Metric] = {}


def _m(
    name: str,
    description: str,
    unit: Unit,
    plus: tuple[Part, ...],
    *,
    dims: dict[str, Column] | None = None,
    minus: tuple[Part, ...] = (),
    over: tuple[Part, ...] = (),
    scale: float = 1.0,
) -> None:
    per_currency = unit == "money" or any(p.field == "amount_minor" for p in plus)
    dimensions = dict(dims or {})
    if per_currency:
        dimensions["currency"] = "currency"
    REGISTRY[name] = Metric(
        name=name,
        description=description,
        unit=unit,
        dimensions=dimensions,
        plus=plus,
        minus=minus,
        over=over,
        scale=scale,
        per_currency=per_currency,
        definition=definitions.DEFINITIONS[name],
    )


def _count(name: str, source: str, description: str, dims: dict[str, Column] | None = None) -> None:
    _m(name, description, "count", (Part(source),), dims=dims)


def _rate(name: str, num: str, den: str, description: str, dims: dict[str, Column] | None = None) -> None:
    _m(name, description, "ratio", (Part(num),), over=(Part(den),), dims=dims)


_LEAD: dict[str, Column] = {"lead_source": "dim1", "channel": "dim2"}
_BOOKING: dict[str, Column] = {"package": "dim1", "lead_source": "dim2"}
_PAYMENT: dict[str, Column] = {"kind": "dim1", "method": "dim2"}
_EMAIL: dict[str, Column] = {"template": "dim1", "campaign": "dim2"}
_NOTIFY: dict[str, Column] = {"template": "dim1", "channel": "dim2"}
_JOURNEY: dict[str, Column] = {"journey": "dim1"}

_count("inquiries", "inquiry.received", "Inquiries received", _LEAD)
# Sources bookings.made, bookings.cancelled and clients.first_seen are read from the per-booking and per-client
# state (analytics_bookings, analytics_clients), not rollup rows: each booking and each client once.
_count("new_clients", "clients.first_seen", "Clients seen for the first time (any event)", {"lead_source": "dim1"})
_count("bookings", "bookings.made", "Bookings made, each booking once (cancelled ones included)", _BOOKING)
_count("booking_confirmations", "booking.confirmed", "booking.confirmed events (re-confirmations too)", _BOOKING)
_m(
    "booking_value",
    "Agreed value of bookings made, each booking once",
    "money",
    (Part("bookings.made", "amount_minor"),),
    dims=_BOOKING,
)
_m(
    "average_booking_value",
    "Booking value / bookings, per currency",
    "money",
    (Part("bookings.made", "amount_minor"),),
    over=(Part("bookings.made"),),
    dims=_BOOKING,
)
_count("cancellations", "bookings.cancelled", "Bookings cancelled, each booking once, when first cancelled")
_m(
    "net_bookings",
    "Bookings made minus bookings cancelled in the window",
    "count",
    (Part("bookings.made"),),
    minus=(Part("bookings.cancelled"),),
)
_count(
    "weddings_booked",
    "booking.wedding_month",
    "Bookings by the month of the wedding (seasonality)",
    {"wedding_month": "dim1", "lead_source": "dim2"},
)
_m(
    "booking_to_wedding_days",
    "Average days from the booking's local date to the wedding",
    "days",
    (Part("booking.wedding_month", "value_sum"),),
    over=(Part("booking.wedding_month", "value_count"),),
    dims={"wedding_month": "dim1", "lead_source": "dim2"},
)
_count("payments", "payment.succeeded", "Successful payments", _PAYMENT)
_m(
    "revenue_gross",
    "Money received by successful payments",
    "money",
    (Part("payment.succeeded", "amount_minor"),),
    dims=_PAYMENT,
)
_m("refunds", "Money refunded", "money", (Part("payment.refunded", "amount_minor"),))
_m(
    "revenue_net",
    "Gross revenue minus refunds",
    "money",
    (Part("payment.succeeded", "amount_minor"),),
    minus=(Part("payment.refunded", "amount_minor"),),
)
_count("payments_failed", "payment.failed", "Failed payment attempts", {"kind": "dim1", "failure_code": "dim2"})
_count("form_starts", "form.started", "Forms started", {"form": "dim1"})
_count("form_submissions", "form.submitted", "Forms submitted", {"form": "dim1"})
_rate("form_completion_rate", "form.submitted", "form.started", "Submissions / starts", {"form": "dim1"})
for _what in ("sent", "delivered", "opened", "clicked", "bounced", "complained", "replied"):
    _count(f"emails_{_what}", f"email.{_what}", f"Emails {_what}", _EMAIL)
_rate("email_delivery_rate", "email.delivered", "email.sent", "Emails delivered / sent", _EMAIL)
_rate("email_open_rate", "email.opened", "email.delivered", "Emails opened / delivered", _EMAIL)
_rate("email_click_rate", "email.clicked", "email.delivered", "Emails clicked / delivered", _EMAIL)
_rate("email_bounce_rate", "email.bounced", "email.sent", "Emails bounced / sent", _EMAIL)
for _what in ("sent", "delivered", "failed", "opened", "clicked"):
    _count(f"notifications_{_what}", f"notification.{_what}", f"Notifications {_what}", _NOTIFY)
_rate("notification_delivery_rate", "notification.delivered", "notification.sent", "Delivered / sent", _NOTIFY)
_rate("notification_failure_rate", "notification.failed", "notification.sent", "Failed / sent", _NOTIFY)
_rate("notification_open_rate", "notification.opened", "notification.delivered", "Opened / delivered", _NOTIFY)
_rate("notification_click_rate", "notification.clicked", "notification.delivered", "Clicked / delivered", _NOTIFY)
_count("journeys_started", "journey.started", "Journey runs started", _JOURNEY)
_count("journeys_completed", "journey.completed", "Journey runs completed", _JOURNEY)
_count("journeys_abandoned", "journey.abandoned", "Journey runs abandoned", _JOURNEY)
_count(
    "journey_steps_completed", "journey.step_completed", "Journey steps completed", {"journey": "dim1", "step": "dim2"}
)
_rate("journey_completion_rate", "journey.completed", "journey.started", "Runs completed / started", _JOURNEY)
_m(
    "journey_duration",
    "Average duration of completed runs that reported one",
    "milliseconds",
    (Part("journey.completed", "value_sum"),),
    over=(Part("journey.completed", "value_count"),),
    dims=_JOURNEY,
)
_count("reviews_rated", "review.rating", "Reviews with a star rating", {"platform": "dim1"})
_m(
    "review_rating",
    "Average star rating (1 to 5)",
    "score",
    (Part("review.rating", "value_sum"),),
    over=(Part("review.rating", "value_count"),),
    dims={"platform": "dim1"},
)
_count("nps_responses", "review.nps", "Reviews with an NPS score", {"platform": "dim1"})
_m(
    "nps",
    "Net Promoter Score: % promoters (9-10) minus % detractors (0-6), -100 to 100",
    "score",
    (Part("review.nps", "events", "promoter"),),
    minus=(Part("review.nps", "events", "detractor"),),
    over=(Part("review.nps"),),
    scale=100.0,
    dims={"platform": "dim1"},
)
_count("app_actions", "app.action", "Actions taken in the app by team members", {"action": "dim1", "user": "dim2"})
ACTIVE_CLIENTS = Metric(
    name="active_clients",
    description="Distinct clients with any event (exact)",
    unit="count",
    plus=(),
    definition=definitions.DEFINITIONS["active_clients"],
)
REGISTRY[ACTIVE_CLIENTS.name] = ACTIVE_CLIENTS


class MetricInfo(BaseModel):
    """What the dashboard shows about a metric (its catalog entry)."""

    name: str
    description: str
    unit: Unit
    dimensions: list[str] = Field(description="Allowed values of `by` in breakdown()")
    per_currency: bool = Field(description="Money: one value per currency, never summed across currencies")
    definition: str = Field(description="What the metric counts, in plain words (as in docs/metrics.md)")


def catalog() -> list[MetricInfo]:
    """Every metric of the registry, by name."""
    return [
        MetricInfo(
            name=m.name,
            description=m.description,
            unit=m.unit,
            dimensions=sorted(m.dimensions),
            per_currency=m.per_currency,
            definition=m.definition,
        )
        for m in sorted(REGISTRY.values(), key=lambda m: m.name)
    ]


def get(name: str) -> Metric:
    """The metric called `name`; InvalidInput lists the known names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise errors.InvalidInput(f"unknown metric {name!r}; known metrics: {known}") from None
