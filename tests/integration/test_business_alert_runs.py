"""Every business alert through the monitor's real run on generated seasonal history: each one fires once for the
organization whose numbers dipped, however many runs follow; the same history muted sends nothing; the same
history without the dip sends nothing."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import responses

from shared.core import db, settings
from shared.monitor import alertrules, alerts, quality
from tests import business_history as gen
from tests.business_history import NOW

HOOKS = {"dipped": "https://hooks.example.com/dipped", "muted": "https://hooks.example.com/muted"}
HOOKS["steady"] = "https://hooks.example.com/steady"
WEEKS = gen.weeks_before(NOW, 3 * 52)


def _history(org: Any, *, dip: bool) -> gen.History:
    """Three seasons of inquiries, 40 weeks of payments, two years of reviews and one booking due in 10 days; with
    `dip`, the last week's inquiries fall to a tenth, 40 % of its payments fail, the last reviews are poor and the
    booking is half paid."""
    rng = random.Random(1616)
    history = gen.History(org.id)
    gen.seasonal_inquiries(history, rng, base=20.0, weeks=WEEKS, dip={WEEKS[-1]: 0.1} if dip else {})
    for start in WEEKS[-40:]:
        failed = 16 if dip and start == WEEKS[-1] else (2 if start.isocalendar().week % 2 else 1)
        history.add("payment.succeeded", start, 40 - failed, amount_minor=50000, currency="GBP", kind="balance")
        history.add("payment.failed", start, failed, amount_minor=50000, currency="GBP", failure_code="declined")
    for i in range(40):
        history.add("review.received", NOW - timedelta(days=100 + 15 * i), review_id=f"r{i}", rating=5, nps=10 - i % 2)
    for i in range(6):
        score = (2, 4) if dip else (5, 9)
        history.add(
            "review.received", NOW - timedelta(days=5 + 10 * i), review_id=f"n{i}", rating=score[0], nps=score[1]
        )
    history.add(
        "booking.confirmed", NOW - timedelta(days=200), booking_id="B1", package="full-day", value_minor=400000,
        currency="GBP", wedding_date=(NOW + timedelta(days=10)).date().isoformat(),
    )  # fmt: skip
    paid = 200000 if dip else 400000
    history.add("payment.succeeded", NOW - timedelta(days=50), booking_id="B1", amount_minor=paid, currency="GBP")
    return history


def _opened(url: str) -> list[tuple[str, str]]:
    return sorted(
        (body["check"], body["subject"])
        for call in responses.calls
        if call.request.url == url and call.request.headers["X-WedSync-Event"] == "business.incident.opened"
        for body in [json.loads(call.request.body or b"")]
    )


@responses.activate
def test_each_business_alert_is_sent_once_to_the_dipped_organization_and_never_to_muted_or_steady_ones(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    settings.clear_cache()
    for url in HOOKS.values():
        responses.add(responses.POST, url, status=200)
    orgs = {name: make_org(name=name, alerts={"webhook_url": url}) for name, url in HOOKS.items()}
    for name, org in orgs.items():
        gen.store(conn, _history(org, dip=name != "steady"))
    with db.transaction() as tx:
        alertrules.mute(tx, orgs["muted"].id, list(alertrules.ALERTS), datetime.now(UTC) + timedelta(days=1), by="t")

    counts = [alerts.process(db.transaction, quality.run(db.transaction, now=NOW)) for _ in range(3)]

    assert _opened(HOOKS["dipped"]) == [
        ("business.balance_overdue", "B1"),
        ("business.inquiries", ""),
        ("business.payment_failures", ""),
        ("business.reviews", "nps"),
        ("business.reviews", "rating"),
    ]
    assert _opened(HOOKS["muted"]) == [] and _opened(HOOKS["steady"]) == []
    assert counts[0]["opened"] == 10 and counts[1]["opened"] == counts[2]["opened"] == 0  # dipped + muted: 5 each
