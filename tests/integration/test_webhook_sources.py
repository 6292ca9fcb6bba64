"""Webhook sources over time and across providers: secret rotation, encrypted secrets, the CLI, and every provider
refusing forged, tampered and unsigned deliveries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from shared.core import db
from shared.ingest import webhooks
from shared.tools import cli
from tests import webhook_payloads as wp
from tests import webhook_sources as sources


def test_rotated_secret_accepts_old_and_new_during_the_window_and_only_new_after(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    with db.transaction() as c:
        webhooks.rotate_secret(c, src.source.id, secret="whsec_rotated_new", window=timedelta(hours=1))
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_r", 100)))
    assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
    assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw, secret="whsec_rotated_new")).status_code == 202
    conn.execute("update analytics_webhook_sources set previous_secret_expires_at = now() - interval '1 second'")
    assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 401
    assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw, secret="whsec_rotated_new")).status_code == 202


def test_secrets_are_stored_encrypted_and_dashboard_users_cannot_read_them_or_other_orgs_sources(
    make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    mine, theirs = make_org(), make_org(name="Other Studio")
    sources.add_source(mine.id, "stripe", wp.STRIPE_SECRET)
    sources.add_source(theirs.id, "stripe", wp.STRIPE_SECRET)
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
    src = sources.add_source(org.id, provider, given)
    secret = given or src.secret
    assert secret is not None
    raw, good, forged = _signed(provider, secret, private)
    tampered = raw.replace(b"2026-11-20", b"2026-11-21") if b"2026-11-20" in raw else raw.replace(b"ava", b"eve")
    assert tampered != raw
    attacks = [(raw, forged), (tampered, good), (raw, {})]
    if provider == "postmark":
        attacks.remove((tampered, good))  # Postmark signs nothing: basic auth cannot see a changed body (TLS does)
    for body_, headers in attacks:
        assert sources.deliver(ingest_app, src, body_, headers).status_code == 401
    assert sources.queued(conn) == 0
    assert sources.source_stats(conn, f"{provider}:{src.source.id}")["refused"] == len(attacks)
    assert sources.deliver(ingest_app, src, raw, good).status_code == 202
    assert sources.queued(conn) == 1
    outcome = sources.drain_validate()
    assert outcome.stored >= 1 and outcome.rejected == 0


def test_queued_delivery_of_an_unknown_provider_is_dead_lettered_without_blocking_the_batch(
    ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    src = sources.add_source(org.id, "stripe", wp.STRIPE_SECRET)
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_ok", 700)))
    assert sources.deliver(ingest_app, src, raw, wp.stripe_headers(raw)).status_code == 202
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
    outcome = sources.drain_validate()
    assert (outcome.stored, outcome.dead_messages) == (1, 1)
    [(reasons,)] = conn.execute("select reasons from analytics_dead_letters").fetchall()
    assert reasons[0]["type"] == "parse_failed"
    assert sources.queued(conn) == 0
