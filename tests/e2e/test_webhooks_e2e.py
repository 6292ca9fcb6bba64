"""A signed Stripe delivery over real HTTP to a running pipeline ends up as a stored payment.succeeded."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import requests

from shared.core import db
from shared.ingest import webhooks
from shared.tools import runner
from tests import webhook_payloads as wp

pytestmark = pytest.mark.e2e


def test_signed_stripe_delivery_over_http_is_stored_as_payment_succeeded(
    database_url: str, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(currency="GBP")
    with db.transaction() as c:
        src = webhooks.create(c, org.id, "stripe", secret=wp.STRIPE_SECRET)
    pipeline = runner.start(database_url, poll_seconds=1.0)
    try:
        url = f"{pipeline.url('ingest')}/v1/webhooks/stripe/{src.source.id}"
        raw = wp.body(
            wp.stripe_event(
                "payment_intent.succeeded",
                wp.payment_intent(
                    "pi_3OE2eTLkdIwHu7ix0Xbn1PqW", 245000, "eur", {"kind": "instalment", "booking_id": "b-99"}
                ),
            )
        )
        answer = requests.post(
            url, data=raw, timeout=30, headers={**wp.stripe_headers(raw), "Content-Type": "application/json"}
        )
        assert answer.status_code == 202, answer.text
        forged = requests.post(url, data=raw, timeout=30, headers=wp.stripe_headers(raw, secret="whsec_nope"))
        assert forged.status_code == 401
        row = None
        deadline = time.monotonic() + 30
        while row is None and time.monotonic() < deadline:
            row = conn.execute(
                "select event_type, event_id, amount_minor, currency, properties->>'kind', booking_id "
                "from analytics_events"
            ).fetchone()
            if row is None:
                time.sleep(0.2)  # waiting for the pipeline, not measuring it
    finally:
        pipeline.stop()
    assert row == (
        "payment.succeeded",
        "stripe:payment:pi_3OE2eTLkdIwHu7ix0Xbn1PqW",
        245000,
        "EUR",
        "instalment",
        "b-99",
    )
