"""Webhook deliveries through the real ingest function and validate stage, against a real PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from tests import webhook_payloads as wp
from tests import webhook_sources as sources


def test_signed_stripe_payment_is_queued_then_stored_as_payment_succeeded(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(currency="EUR")
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(
        wp.stripe_event(
            "payment_intent.succeeded",
            wp.payment_intent(
                "pi_3MtwBwLkdIwHu7ix28a3tqPa",
                150000,
                "gbp",
                {"kind": "balance", "booking_id": "b-1", "client_id": "c-1"},
            ),
        )
    )
    answer = sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw))
    assert answer.status_code == 202, answer.json
    [message] = conn.execute("select message from pgmq.q_ingest").fetchall()
    assert message[0]["kind"] == "webhook" and message[0]["provider"] == "stripe"
    assert message[0]["body"] == raw.decode() and message[0]["organization_id"] == str(org.id)
    outcome = sources.drain_validate()
    assert (outcome.stored, outcome.rejected) == (1, 0)
    [row] = sources.stored_payments(conn)
    assert row[:7] == (
        "payment.succeeded",
        "stripe:payment:pi_3MtwBwLkdIwHu7ix28a3tqPa",
        150000,
        "GBP",
        "b-1",
        "c-1",
        f"stripe:{src.source.id}",
    )
    assert row[7]["kind"] == "balance"
    assert sources.source_stats(conn, f"stripe:{src.source.id}")["stored"] == 1


@pytest.mark.parametrize("attack", ["forged", "stale", "tampered", "unsigned"])
def test_forged_stale_tampered_and_unsigned_deliveries_get_401_queue_nothing_and_are_counted(
    attack: str, ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_1", 5000)))
    headers = {
        "forged": wp.stripe_headers(raw, secret="whsec_attacker"),
        "stale": wp.stripe_headers(raw, timestamp=int(time.time()) - 3600),
        "tampered": wp.stripe_headers(raw),
        "unsigned": {},
    }[attack]
    sent = raw.replace(b"5000", b"500000") if attack == "tampered" else raw
    answer = sources.deliver(ingest_app, src, sent, headers)
    assert answer.status_code == 401
    assert answer.json["error"] == "invalid_signature"
    assert sources.queued(conn) == 0
    assert conn.execute("select count(*) from analytics_dead_letters").fetchone() == (0,)
    assert sources.source_stats(conn, f"stripe:{src.source.id}")["refused"] == 1
    stored = conn.execute("select count(*) from analytics_events").fetchone()
    assert stored == (0,)


def test_unknown_source_or_wrong_provider_in_the_url_is_404(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_1", 5000)))
    for path in (
        f"/v1/webhooks/stripe/{uuid4()}",
        "/v1/webhooks/stripe/not-a-uuid",
        f"/v1/webhooks/resend/{src.source.id}",
        f"/v1/webhooks/paypal/{src.source.id}",
    ):
        answer = ingest_app.post(path, data=raw, headers=wp.stripe_headers(raw), content_type="application/json")
        assert answer.status_code == 404, path
    assert sources.queued(conn) == 0


def test_redelivery_and_the_same_payment_via_checkout_are_duplicates_not_second_payments(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    pi_event = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_42", 25000)))
    cs_event = wp.body(wp.stripe_event("checkout.session.completed", wp.checkout_session("cs_42", "pi_42", 25000)))
    for raw in (pi_event, pi_event, cs_event):
        assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    sources.drain_validate()
    assert sources.deliver(ingest_app, src, pi_event, wp.stripe_headers(pi_event)).status_code == 202  # a later retry
    sources.drain_validate()
    rows = sources.stored_payments(conn)
    assert [(r[0], r[2]) for r in rows] == [("payment.succeeded", 25000)]
    assert sources.source_stats(conn, f"stripe:{src.source.id}")["duplicates"] == 3


def test_partial_refunds_are_stored_once_each_with_their_amounts(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    first = wp.body(wp.stripe_event("charge.refunded", wp.charge("ch_7", "pi_7", 10000, [("re_a", 3000)])))
    second = wp.body(
        wp.stripe_event("charge.refunded", wp.charge("ch_7", "pi_7", 10000, [("re_b", 2000), ("re_a", 3000)]))
    )
    for raw in (first, second):
        assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    sources.drain_validate()
    refunds = [(r[1], r[2]) for r in sources.stored_payments(conn)]
    assert refunds == [("stripe:refund:re_a", 3000), ("stripe:refund:re_b", 2000)]


def test_unused_provider_event_type_gets_2xx_and_is_counted_as_ignored(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("customer.subscription.updated", {"id": "sub_1", "object": "subscription"}))
    assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    outcome = sources.drain_validate()
    assert (outcome.stored, outcome.rejected) == (0, 0)
    assert sources.source_stats(conn, f"stripe:{src.source.id}")["ignored"] == 1
    assert conn.execute("select count(*) from analytics_dead_letters").fetchone() == (0,)


def test_verified_payload_that_does_not_parse_is_dead_lettered_with_reasons(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"}))
    assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    assert sources.drain_validate().rejected == 1
    [(stage, source, reasons)] = conn.execute("select stage, source, reasons from analytics_dead_letters").fetchall()
    assert (stage, source) == ("validate", f"stripe:{src.source.id}")
    assert {tuple(r["loc"]) for r in reasons} >= {
        ("stripe", "data", "object", "amount"),
        ("stripe", "data", "object", "currency"),
    }


def test_sendgrid_batch_with_one_bad_item_keeps_the_good_ones_and_dead_letters_the_bad_one(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    private, public = wp.sendgrid_keys()
    src = sources.add_source(org.id, "sendgrid", public)
    items = [
        wp.sendgrid_item("delivered"),
        wp.sendgrid_item("open"),
        wp.sendgrid_item("click", url="https://roseandthorn.example/prices"),
        wp.sendgrid_item("open", email="not-an-email-at-all", sg_message_id=None),
    ]
    raw = wp.body(items)
    assert sources.deliver(ingest_app, src, raw, wp.sendgrid_headers(raw, private)).status_code == 202
    outcome = sources.drain_validate()
    assert (outcome.stored, outcome.rejected) == (3, 1)
    types = [r[0] for r in conn.execute("select event_type from analytics_events order by event_type")]
    assert types == ["email.clicked", "email.delivered", "email.opened"]
    recipients = {r[0] for r in conn.execute("select properties->>'recipient' from analytics_events")}
    assert all(r.startswith("pii:") for r in recipients)  # addresses never stored in clear
    [(reasons,)] = conn.execute("select reasons from analytics_dead_letters").fetchall()
    assert reasons[0]["loc"] == ["sendgrid", "sg_message_id"]
    # SendGrid retries the whole batch: nothing is stored twice.
    assert sources.deliver(ingest_app, src, raw, wp.sendgrid_headers(raw, private)).status_code == 202
    assert sources.drain_validate().stored == 0
    assert sources.source_stats(conn, f"sendgrid:{src.source.id}")["duplicates"] == 3


def test_resend_delivery_redelivered_with_the_same_svix_id_is_one_event(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "resend", wp.SVIX_SECRET)
    raw = wp.body(wp.resend_event("email.opened"))
    for _ in range(2):
        headers = wp.svix_headers(raw, msg_id="msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        assert sources.deliver(ingest_app, src, raw, headers).status_code == 202
    sources.drain_validate()
    rows = conn.execute("select event_type, event_id, client_id from analytics_events").fetchall()
    assert rows == [("email.opened", "resend:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "c-7")]


def test_typeform_inquiry_form_stores_form_submitted_and_inquiry_with_pseudonymised_client(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "typeform", inquiry_forms=["*"])
    assert src.secret is not None  # we generate the Typeform secret and show it once
    raw = wp.body(wp.typeform_response())
    assert sources.deliver(ingest_app, src, raw, wp.typeform_headers(raw, src.secret)).status_code == 202
    assert sources.deliver(ingest_app, src, raw, wp.typeform_headers(raw, "guess")).status_code == 401
    sources.drain_validate()
    rows = conn.execute("select event_type, client_id, properties from analytics_events order by event_type").fetchall()
    assert [r[0] for r in rows] == ["form.submitted", "inquiry.received"]
    assert rows[1][1].startswith("pii:") and rows[0][1] == rows[1][1]
    assert rows[1][2]["lead_source"] == "instagram" and rows[1][2]["email"].startswith("pii:")


def test_generic_form_and_postmark_sources_accept_their_own_credentials_only(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    form = sources.add_source(org.id, "form", lead_source="website")
    postmark = sources.add_source(org.id, "postmark")
    assert form.secret and postmark.secret
    sub = wp.body(
        {
            "submission_id": "s-1",
            "form_id": "contact",
            "submitted_at": "2026-11-20T10:00:00Z",
            "is_inquiry": True,
            "client_id": "c-5",
        }
    )
    assert sources.deliver(ingest_app, form, sub, wp.form_headers(sub, form.secret)).status_code == 202
    stale = wp.form_headers(sub, form.secret, int(time.time()) - 600)
    assert sources.deliver(ingest_app, form, sub, stale).status_code == 401
    delivery = wp.body(
        {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Recipient": "ava@example.com",
            "Tag": "welcome",
            "DeliveredAt": "2026-11-20T10:00:00Z",
            "Details": "Test delivery",
            "Metadata": {"client_id": "c-5"},
        }
    )
    assert sources.deliver(ingest_app, postmark, delivery, wp.postmark_headers(postmark.secret)).status_code == 202
    assert sources.deliver(ingest_app, postmark, delivery, wp.postmark_headers("wedsync:wrong")).status_code == 401
    sources.drain_validate()
    types = sorted(r[0] for r in conn.execute("select event_type from analytics_events"))
    assert types == ["email.delivered", "form.submitted", "inquiry.received"]
