"""Webhook deliveries through the real ingest function and validate stage, against a real PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from shared.core import db
from shared.ingest import webhooks
from shared.tools import cli
from shared.validate import validation
from tests import webhook_payloads as wp


def _source(org_id: UUID, provider: str, secret: str | None = None, **options: Any) -> webhooks.NewSource:
    with db.transaction() as c:
        return webhooks.create(c, org_id, provider, secret=secret, options=webhooks.SourceSettings(**options))


def _post(app: Any, new: webhooks.NewSource, raw: bytes, headers: dict[str, str]) -> Any:
    path = f"/v1/webhooks/{new.source.provider}/{new.source.id}"
    return app.post(path, data=raw, headers=headers, content_type="application/json")


def _drain() -> validation.BatchOutcome:
    totals, more = validation.drain(db.transaction)
    assert not more
    return totals


def _queued(conn: psycopg.Connection[Any]) -> int:
    return int(conn.execute("select count(*) from pgmq.q_ingest").fetchone()[0])  # type: ignore[index]


def _stats(conn: psycopg.Connection[Any], source: str) -> dict[str, int]:
    row = conn.execute(
        "select coalesce(sum(received),0), coalesce(sum(stored),0), coalesce(sum(duplicates),0), "
        "coalesce(sum(rejected),0), coalesce(sum(ignored),0), coalesce(sum(refused),0) "
        "from analytics_source_stats where source = %s",
        (source,),
    ).fetchone()
    assert row is not None
    return dict(zip(("received", "stored", "duplicates", "rejected", "ignored", "refused"), map(int, row), strict=True))


def _payments(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select event_type, event_id, amount_minor, currency, booking_id, client_id, source, "
        "properties from analytics_events where event_type like 'payment.%%' "
        "order by event_type, event_id"
    ).fetchall()


def test_signed_stripe_payment_is_queued_then_stored_as_payment_succeeded(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org(currency="EUR")
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
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
    answer = _post(ingest_app, src, raw, wp.stripe_headers(raw))
    assert answer.status_code == 202, answer.json
    [message] = conn.execute("select message from pgmq.q_ingest").fetchall()
    assert message[0]["kind"] == "webhook" and message[0]["provider"] == "stripe"
    assert message[0]["body"] == raw.decode() and message[0]["organization_id"] == str(org.id)
    outcome = _drain()
    assert (outcome.stored, outcome.rejected) == (1, 0)
    [row] = _payments(conn)
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
    assert _stats(conn, f"stripe:{src.source.id}")["stored"] == 1


@pytest.mark.parametrize("attack", ["forged", "stale", "tampered", "unsigned"])
def test_forged_stale_tampered_and_unsigned_deliveries_get_401_queue_nothing_and_are_counted(
    attack: str, ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_1", 5000)))
    headers = {
        "forged": wp.stripe_headers(raw, secret="whsec_attacker"),
        "stale": wp.stripe_headers(raw, timestamp=int(time.time()) - 3600),
        "tampered": wp.stripe_headers(raw),
        "unsigned": {},
    }[attack]
    sent = raw.replace(b"5000", b"500000") if attack == "tampered" else raw
    answer = _post(ingest_app, src, sent, headers)
    assert answer.status_code == 401
    assert answer.json["error"] == "invalid_signature"
    assert _queued(conn) == 0
    assert conn.execute("select count(*) from analytics_dead_letters").fetchone() == (0,)
    assert _stats(conn, f"stripe:{src.source.id}")["refused"] == 1
    stored = conn.execute("select count(*) from analytics_events").fetchone()
    assert stored == (0,)


def test_unknown_source_or_wrong_provider_in_the_url_is_404(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_1", 5000)))
    for path in (
        f"/v1/webhooks/stripe/{uuid4()}",
        "/v1/webhooks/stripe/not-a-uuid",
        f"/v1/webhooks/resend/{src.source.id}",
        f"/v1/webhooks/paypal/{src.source.id}",
    ):
        answer = ingest_app.post(path, data=raw, headers=wp.stripe_headers(raw), content_type="application/json")
        assert answer.status_code == 404, path
    assert _queued(conn) == 0


def test_redelivery_and_the_same_payment_via_checkout_are_duplicates_not_second_payments(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
    pi_event = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_42", 25000)))
    cs_event = wp.body(wp.stripe_event("checkout.session.completed", wp.checkout_session("cs_42", "pi_42", 25000)))
    for raw in (pi_event, pi_event, cs_event):
        assert _post(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    _drain()
    assert _post(ingest_app, src, pi_event, wp.stripe_headers(pi_event)).status_code == 202  # a later retry
    _drain()
    rows = _payments(conn)
    assert [(r[0], r[2]) for r in rows] == [("payment.succeeded", 25000)]
    assert _stats(conn, f"stripe:{src.source.id}")["duplicates"] == 3


def test_partial_refunds_are_stored_once_each_with_their_amounts(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
    first = wp.body(wp.stripe_event("charge.refunded", wp.charge("ch_7", "pi_7", 10000, [("re_a", 3000)])))
    second = wp.body(
        wp.stripe_event("charge.refunded", wp.charge("ch_7", "pi_7", 10000, [("re_b", 2000), ("re_a", 3000)]))
    )
    for raw in (first, second):
        assert _post(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    _drain()
    refunds = [(r[1], r[2]) for r in _payments(conn)]
    assert refunds == [("stripe:refund:re_a", 3000), ("stripe:refund:re_b", 2000)]


def test_unused_provider_event_type_gets_2xx_and_is_counted_as_ignored(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("customer.subscription.updated", {"id": "sub_1", "object": "subscription"}))
    assert _post(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    outcome = _drain()
    assert (outcome.stored, outcome.rejected) == (0, 0)
    assert _stats(conn, f"stripe:{src.source.id}")["ignored"] == 1
    assert conn.execute("select count(*) from analytics_dead_letters").fetchone() == (0,)


def test_verified_payload_that_does_not_parse_is_dead_lettered_with_reasons(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"}))
    assert _post(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    assert _drain().rejected == 1
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
    src = _source(org.id, "sendgrid", public)
    items = [
        wp.sendgrid_item("delivered"),
        wp.sendgrid_item("open"),
        wp.sendgrid_item("click", url="https://roseandthorn.example/prices"),
        wp.sendgrid_item("open", email="not-an-email-at-all", sg_message_id=None),
    ]
    raw = wp.body(items)
    assert _post(ingest_app, src, raw, wp.sendgrid_headers(raw, private)).status_code == 202
    outcome = _drain()
    assert (outcome.stored, outcome.rejected) == (3, 1)
    types = [r[0] for r in conn.execute("select event_type from analytics_events order by event_type")]
    assert types == ["email.clicked", "email.delivered", "email.opened"]
    recipients = {r[0] for r in conn.execute("select properties->>'recipient' from analytics_events")}
    assert all(r.startswith("pii:") for r in recipients)  # addresses never stored in clear
    [(reasons,)] = conn.execute("select reasons from analytics_dead_letters").fetchall()
    assert reasons[0]["loc"] == ["sendgrid", "sg_message_id"]
    # SendGrid retries the whole batch: nothing is stored twice.
    assert _post(ingest_app, src, raw, wp.sendgrid_headers(raw, private)).status_code == 202
    assert _drain().stored == 0
    assert _stats(conn, f"sendgrid:{src.source.id}")["duplicates"] == 3


def test_resend_delivery_redelivered_with_the_same_svix_id_is_one_event(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "resend", wp.SVIX_SECRET)
    raw = wp.body(wp.resend_event("email.opened"))
    for _ in range(2):
        headers = wp.svix_headers(raw, msg_id="msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        assert _post(ingest_app, src, raw, headers).status_code == 202
    _drain()
    rows = conn.execute("select event_type, event_id, client_id from analytics_events").fetchall()
    assert rows == [("email.opened", "resend:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "c-7")]


def test_typeform_inquiry_form_stores_form_submitted_and_inquiry_with_pseudonymised_client(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "typeform", inquiry_forms=["*"])
    assert src.secret is not None  # we generate the Typeform secret and show it once
    raw = wp.body(wp.typeform_response())
    assert _post(ingest_app, src, raw, wp.typeform_headers(raw, src.secret)).status_code == 202
    assert _post(ingest_app, src, raw, wp.typeform_headers(raw, "guess")).status_code == 401
    _drain()
    rows = conn.execute("select event_type, client_id, properties from analytics_events order by event_type").fetchall()
    assert [r[0] for r in rows] == ["form.submitted", "inquiry.received"]
    assert rows[1][1].startswith("pii:") and rows[0][1] == rows[1][1]
    assert rows[1][2]["lead_source"] == "instagram" and rows[1][2]["email"].startswith("pii:")


def test_generic_form_and_postmark_sources_accept_their_own_credentials_only(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    form = _source(org.id, "form", lead_source="website")
    postmark = _source(org.id, "postmark")
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
    assert _post(ingest_app, form, sub, wp.form_headers(sub, form.secret)).status_code == 202
    stale = wp.form_headers(sub, form.secret, int(time.time()) - 600)
    assert _post(ingest_app, form, sub, stale).status_code == 401
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
    assert _post(ingest_app, postmark, delivery, wp.postmark_headers(postmark.secret)).status_code == 202
    assert _post(ingest_app, postmark, delivery, wp.postmark_headers("wedsync:wrong")).status_code == 401
    _drain()
    types = sorted(r[0] for r in conn.execute("select event_type from analytics_events"))
    assert types == ["email.delivered", "form.submitted", "inquiry.received"]


def test_rotated_secret_accepts_old_and_new_during_the_window_and_only_new_after(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
    with db.transaction() as c:
        webhooks.rotate_secret(c, src.source.id, secret="whsec_rotated_new", window=timedelta(hours=1))
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_r", 100)))
    assert _post(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    assert _post(ingest_app, src, raw, wp.stripe_headers(raw, secret="whsec_rotated_new")).status_code == 202
    conn.execute("update analytics_webhook_sources set previous_secret_expires_at = now() - interval '1 second'")
    assert _post(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 401
    assert _post(ingest_app, src, raw, wp.stripe_headers(raw, secret="whsec_rotated_new")).status_code == 202


def test_secrets_are_stored_encrypted_and_dashboard_users_cannot_read_them_or_other_orgs_sources(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    mine, theirs = make_org(), make_org(name="Other Studio")
    _source(mine.id, "stripe", wp.STRIPE_SECRET)
    _source(theirs.id, "stripe", wp.STRIPE_SECRET)
    blobs = [bytes(r[0]) for r in conn.execute("select secret_ciphertext from analytics_webhook_sources")]
    assert len(blobs) == 2 and all(wp.STRIPE_SECRET.encode() not in b for b in blobs)
    assert blobs[0] != blobs[1]
    with conn.transaction():
        conn.execute("set local role authenticated")
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)", (json.dumps({"organization_id": str(mine.id)}),)
        )
        visible = conn.execute("select organization_id, provider from analytics_webhook_sources").fetchall()
        assert visible == [(mine.id, "stripe")]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select secret_ciphertext from analytics_webhook_sources")


def test_cli_adds_lists_and_rotates_sources_without_printing_given_secrets(
    make_org: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    org = make_org()
    assert (
        cli.main(
            ["source", "add", "--org", str(org.id), "--provider", "stripe", "--secret", wp.STRIPE_SECRET, "--json"]
        )
        == 0
    )
    added = json.loads(capsys.readouterr().out)
    assert added["endpoint"].endswith(f"/v1/webhooks/stripe/{added['id']}") and added["secret"] is None
    assert cli.main(["source", "add", "--org", str(org.id), "--provider", "stripe"]) == 2
    assert "--secret is required" in capsys.readouterr().err
    assert cli.main(["source", "add", "--org", str(org.id), "--provider", "form", "--inquiry-form", "*"]) == 0
    shown = capsys.readouterr().out
    assert "secret" in shown and "shown once" in shown
    assert cli.main(["source", "list", "--org", str(org.id), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["provider"] for s in listed] == ["stripe", "form"]
    assert wp.STRIPE_SECRET not in json.dumps(listed)
    assert cli.main(["source", "rotate-secret", "--source", added["id"], "--secret", "whsec_next", "--json"]) == 0
    rotated = json.loads(capsys.readouterr().out)
    assert rotated["secret"] is None and rotated["previous_valid_until"]
    assert cli.main(["source", "rotate-secret", "--source", str(uuid4())]) == 1


def _signed(provider: str, secret: str, private: Any) -> tuple[bytes, dict[str, str], dict[str, str]]:
    """(body, good headers, headers signed with someone else's secret) for each provider."""
    if provider == "resend":
        raw = wp.body(wp.resend_event("email.delivered"))
        other = "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0zMmI="
        return raw, wp.svix_headers(raw, secret), wp.svix_headers(raw, other)
    if provider == "sendgrid":
        raw = wp.body([wp.sendgrid_item("delivered")])
        return raw, wp.sendgrid_headers(raw, private), wp.sendgrid_headers(raw, wp.sendgrid_keys()[0])
    if provider == "typeform":
        raw = wp.body(wp.typeform_response())
        return raw, wp.typeform_headers(raw, secret), wp.typeform_headers(raw, "not-the-secret")
    if provider == "postmark":
        raw = wp.body({"RecordType": "Open", "MessageID": "m-1", "ReceivedAt": "2026-11-20T10:00:00Z"})
        return raw, wp.postmark_headers(secret), wp.postmark_headers("wedsync:not-the-password-at-all")
    raw = wp.body({"submission_id": "s-9", "form_id": "contact", "submitted_at": "2026-11-20T10:00:00Z"})
    return raw, wp.form_headers(raw, secret), wp.form_headers(raw, "not-the-secret")


@pytest.mark.parametrize("provider", ["resend", "sendgrid", "typeform", "postmark", "form"])
def test_every_provider_refuses_forged_tampered_and_unsigned_deliveries_and_accepts_the_genuine_one(
    provider: str, ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    private, public = wp.sendgrid_keys()
    given = {"resend": wp.SVIX_SECRET, "sendgrid": public}.get(provider)
    src = _source(org.id, provider, given)
    secret = given or src.secret
    assert secret is not None
    raw, good, forged = _signed(provider, secret, private)
    tampered = raw.replace(b"2026-11-20", b"2026-11-21") if b"2026-11-20" in raw else raw.replace(b"ava", b"eve")
    assert tampered != raw
    attacks = [(raw, forged), (tampered, good), (raw, {})]
    if provider == "postmark":
        attacks.remove((tampered, good))  # Postmark signs nothing: basic auth cannot see a changed body (TLS does)
    for body_, headers in attacks:
        assert _post(ingest_app, src, body_, headers).status_code == 401
    assert _queued(conn) == 0
    assert _stats(conn, f"{provider}:{src.source.id}")["refused"] == len(attacks)
    assert _post(ingest_app, src, raw, good).status_code == 202
    assert _queued(conn) == 1
    outcome = _drain()
    assert outcome.stored >= 1 and outcome.rejected == 0


def test_queued_delivery_of_an_unknown_provider_is_dead_lettered_without_blocking_the_batch(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = _source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_ok", 700)))
    assert _post(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    conn.execute(
        "select pgmq.send('ingest', %s::jsonb)",
        (
            json.dumps(
                {
                    "kind": "webhook",
                    "organization_id": str(org.id),
                    "provider": "paypal",
                    "source_id": str(uuid4()),
                    "received_at": "2026-11-20T10:00:00Z",
                    "body": "{}",
                    "headers": {},
                }
            ),
        ),
    )
    outcome = _drain()
    assert (outcome.stored, outcome.dead_messages) == (1, 1)
    [(reasons,)] = conn.execute("select reasons from analytics_dead_letters").fetchall()
    assert reasons[0]["type"] == "parse_failed"
    assert _queued(conn) == 0
