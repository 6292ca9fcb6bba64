"""Every metric's definition in plain words: what is counted, when, and per what.

The registry attaches these to its metrics, `GET /v1/metrics` serves them and docs/metrics.md is generated
from them (`python -m shared.tools.metricsdoc`), so the words a person reads are the ones the code is held to.
A metric without a definition here is an error at import (registry checks it).
"""

from __future__ import annotations

_CROSS = "A count of events across currencies (the amounts are in the money metrics, per currency)."
_PER_CURRENCY = "Per currency: never converted or summed across currencies."

DEFINITIONS: dict[str, str] = {
    "inquiries": "Inquiries received (inquiry.received events), counted when the inquiry happened.",
    "new_clients": (
        "Clients seen for the first time: a client counts once, at the first event of any type that names them "
        "(a first inquiry makes a new client; client.created is not needed). An event arriving late with an "
        "earlier time moves the client to that earlier period. By lead source: the lead source of that first "
        "event, if it said one."
    ),
    "bookings": (
        "Bookings made: each booking id counts once, when it was first confirmed. Re-confirmations of the same "
        "booking (a package change) do not count again. Cancelled bookings stay counted here (see net_bookings). "
        "Package, lead source and currency are the latest confirmation's."
    ),
    "booking_confirmations": (
        "booking.confirmed events, re-confirmations included (the raw event count; bookings counts each booking once)."
    ),
    "booking_value": (
        "Agreed value of the bookings made in the period (see bookings): each booking once, at the value of its "
        "latest confirmation, counted when it was first confirmed. " + _PER_CURRENCY
    ),
    "average_booking_value": "booking_value / bookings, per currency.",
    "cancellations": (
        "Bookings cancelled: each confirmed booking counts once, when it was first cancelled (a repeated "
        "cancellation does not count again; a cancellation of a booking never confirmed does not count)."
    ),
    "net_bookings": (
        "bookings minus cancellations in the period: a booking made and cancelled in the same period nets to "
        "zero; one made earlier and cancelled in the period counts -1 here."
    ),
    "weddings_booked": (
        "booking.confirmed events by the month of the wedding they name (seasonality of the activity view; "
        "re-confirmations count again). GET /v1/weddings gives weddings per wedding month and season with each "
        "booking once."
    ),
    "booking_to_wedding_days": (
        "Average whole days from a confirmation's local date to its wedding date, over the confirmations in the period."
    ),
    "payments": "Successful payments (payment.succeeded). " + _CROSS,
    "revenue_gross": "Money received by successful payments, counted when paid. " + _PER_CURRENCY,
    "refunds": "Money refunded (payment.refunded), counted on the day of the refund. " + _PER_CURRENCY,
    "revenue_net": "revenue_gross minus refunds of the period. " + _PER_CURRENCY,
    "payments_failed": "Failed payment attempts (payment.failed). " + _CROSS,
    "form_starts": "Forms started (form.started).",
    "form_submissions": "Forms submitted (form.submitted).",
    "form_completion_rate": "form_submissions / form_starts in the period (null when nothing was started).",
    "journey_steps_completed": "Journey steps completed (journey.step_completed).",
    "journey_completion_rate": "Journey runs completed / started in the period (null when none started).",
    "journey_duration": (
        "Average duration of the journey runs completed in the period that reported one (values of 10^15 ms or "
        "more are ignored)."
    ),
    "reviews_rated": "Reviews that carried a star rating.",
    "review_rating": "Average star rating (1 to 5) of the reviews received in the period.",
    "nps_responses": "Reviews that carried an NPS score (0 to 10).",
    "nps": "Net Promoter Score: % promoters (9-10) minus % detractors (0-6) of the period's scores, -100 to 100.",
    "app_actions": "Actions taken in the app by team members (app.action).",
    "active_clients": "Distinct clients named by any event in the period (exact, each client once).",
}

for _what in ("sent", "delivered", "opened", "clicked", "bounced", "complained", "replied"):
    DEFINITIONS[f"emails_{_what}"] = f"Emails {_what} (email.{_what} events), counted when it happened."
for _name, (_num, _den) in {
    "email_delivery_rate": ("delivered", "sent"),
    "email_open_rate": ("opened", "delivered"),
    "email_click_rate": ("clicked", "delivered"),
    "email_bounce_rate": ("bounced", "sent"),
}.items():
    DEFINITIONS[_name] = f"Emails {_num} / emails {_den} in the period (null when none were {_den})."
for _what in ("sent", "delivered", "failed", "opened", "clicked"):
    DEFINITIONS[f"notifications_{_what}"] = f"Notifications {_what} (notification.{_what} events)."
for _name, (_num, _den) in {
    "notification_delivery_rate": ("delivered", "sent"),
    "notification_failure_rate": ("failed", "sent"),
    "notification_open_rate": ("opened", "delivered"),
    "notification_click_rate": ("clicked", "delivered"),
}.items():
    DEFINITIONS[_name] = f"Notifications {_num} / notifications {_den} in the period (null when none were {_den})."
for _what in ("started", "completed", "abandoned"):
    DEFINITIONS[f"journeys_{_what}"] = f"Journey runs {_what} (journey.{_what})."

FUNNEL_COHORT = (
    "Clients whose first inquiry ever fell in the period (an inquiry cohort), followed to today: how many of them "
    "have booked, paid a deposit and paid the balance since, whenever that happened."
)
