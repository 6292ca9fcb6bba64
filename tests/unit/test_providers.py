"""Provider verification and mapping, without a database: signed with the providers' own libraries."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from shared.catalog import events
from shared.ingest import providers
from shared.ingest.providers import registry
from tests import webhook_payloads as wp

SOURCE = providers.Source(uuid4(), uuid4(), "stripe", {})


def _verify(name: str, raw: bytes, headers: dict[str, str], secrets: list[str]) -> None:
    """Verify at the current time (signatures are made with the current time too), tolerance 300 s."""
    registry.get(name).verify(raw, headers, secrets, datetime.now(UTC), 300)


def _catalog_valid(mapped: providers.Mapped) -> None:
    for raw in mapped.events:
        events.validate(raw)  # raises if the mapping produced something the catalog refuses


# ----- Stripe -------------------------------------------------------------------------------------------------


def test_stripe_signature_from_the_stripe_library_verifies_and_tampering_does_not() -> None:
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_1", 5000)))
    headers = wp.stripe_headers(raw)
    _verify("stripe", raw, headers, [wp.STRIPE_SECRET])
    with pytest.raises(providers.Refused):
        _verify("stripe", raw.replace(b"5000", b"9000"), headers, [wp.STRIPE_SECRET])
    with pytest.raises(providers.Refused, match="missing"):
        _verify("stripe", raw, {}, [wp.STRIPE_SECRET])
    with pytest.raises(providers.Refused):
        _verify("stripe", raw, wp.stripe_headers(raw, secret="whsec_someone_else"), [wp.STRIPE_SECRET])


def test_stripe_signature_outside_the_tolerance_window_is_refused_both_ways() -> None:
    raw = wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_1", 5000)))
    old = wp.stripe_headers(raw, timestamp=int(time.time()) - 301)
    with pytest.raises(providers.Refused, match="old"):
        _verify("stripe", raw, old, [wp.STRIPE_SECRET])
    future = wp.stripe_headers(raw, timestamp=int(time.time()) + 400)
    with pytest.raises(providers.Refused, match="future"):
        _verify("stripe", raw, future, [wp.STRIPE_SECRET])
    _verify("stripe", raw, wp.stripe_headers(raw, timestamp=int(time.time()) - 200), [wp.STRIPE_SECRET])


def test_stripe_header_with_several_v1_signatures_verifies_when_any_matches_any_live_secret() -> None:
    raw = wp.body(wp.stripe_event("invoice.paid", wp.invoice("in_1", 100)))
    stamp = int(time.time())
    ours = wp.stripe_headers(raw, timestamp=stamp)["Stripe-Signature"]
    rolled = wp.stripe_headers(raw, secret="whsec_rolled", timestamp=stamp)["Stripe-Signature"]
    both = f"{rolled},v1={ours.split('v1=')[1]}"  # Stripe sends one v1 per secret while a secret is rolled
    _verify("stripe", raw, {"Stripe-Signature": both}, [wp.STRIPE_SECRET])
    _verify("stripe", raw, {"Stripe-Signature": ours}, ["whsec_new_after_rotation", wp.STRIPE_SECRET])


def test_stripe_payment_intent_succeeded_maps_amount_currency_kind_booking_and_client() -> None:
    pi = wp.payment_intent(
        "pi_3MtwBwLkdIwHu7ix28a3tqPa", 80000, "gbp", {"kind": "Deposit", "booking_id": "b-17", "client_id": "c-9"}
    )
    mapped = registry.get("stripe").parse(wp.body(wp.stripe_event("payment_intent.succeeded", pi)).decode(), {}, SOURCE)
    assert (mapped.items, mapped.ignored, mapped.rejected) == (1, 0, [])
    [event] = mapped.events
    assert event["type"] == "payment.succeeded"
    assert event["event_id"] == "stripe:payment:pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert event["client_id"] == "c-9"
    assert event["data"] == {
        "payment_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "amount_minor": 80000,
        "currency": "GBP",
        "kind": "deposit",
        "booking_id": "b-17",
    }
    _catalog_valid(mapped)


def test_checkout_session_and_payment_intent_for_the_same_payment_share_one_event_id() -> None:
    parse = registry.get("stripe").parse
    via_pi = parse(
        wp.body(wp.stripe_event("payment_intent.succeeded", wp.payment_intent("pi_9", 12000))).decode(), {}, SOURCE
    )
    via_cs = parse(
        wp.body(wp.stripe_event("checkout.session.completed", wp.checkout_session("cs_1", "pi_9", 12000))).decode(),
        {},
        SOURCE,
    )
    via_in = parse(
        wp.body(wp.stripe_event("invoice.paid", wp.invoice("in_1", 12000, pi_id="pi_9"))).decode(), {}, SOURCE
    )
    assert via_pi.events[0]["event_id"] == via_cs.events[0]["event_id"] == via_in.events[0]["event_id"]
    subscription_cs = parse(
        wp.body(
            wp.stripe_event(
                "checkout.session.completed",
                wp.checkout_session("cs_2", None, 3000, mode="subscription", invoice="in_2"),
            )
        ).decode(),
        {},
        SOURCE,
    )
    new_api_invoice = parse(wp.body(wp.stripe_event("invoice.paid", wp.invoice("in_2", 3000))).decode(), {}, SOURCE)
    assert subscription_cs.events[0]["event_id"] == new_api_invoice.events[0]["event_id"] == "stripe:invoice:in_2"


def test_unpaid_checkout_and_unused_stripe_types_are_ignored_not_rejected() -> None:
    parse = registry.get("stripe").parse
    unpaid = parse(
        wp.body(
            wp.stripe_event(
                "checkout.session.completed", wp.checkout_session("cs_3", None, 5000, payment_status="unpaid")
            )
        ).decode(),
        {},
        SOURCE,
    )
    other = parse(
        wp.body(wp.stripe_event("customer.created", {"id": "cus_1", "object": "customer"})).decode(), {}, SOURCE
    )
    assert (unpaid.ignored, unpaid.events, unpaid.rejected) == (1, [], [])
    assert (other.ignored, other.events, other.rejected) == (1, [], [])


def test_partial_refunds_each_count_once_with_their_own_amount() -> None:
    parse = registry.get("stripe").parse
    first = parse(
        wp.body(wp.stripe_event("charge.refunded", wp.charge("ch_1", "pi_1", 10000, [("re_1", 2500)]))).decode(),
        {},
        SOURCE,
    )
    second = parse(
        wp.body(
            wp.stripe_event("charge.refunded", wp.charge("ch_1", "pi_1", 10000, [("re_2", 1000), ("re_1", 2500)]))
        ).decode(),
        {},
        SOURCE,
    )
    ids = {e["event_id"]: e["data"]["amount_minor"] for e in first.events + second.events}
    assert ids == {"stripe:refund:re_1": 2500, "stripe:refund:re_2": 1000}
    assert all(e["data"]["payment_id"] == "pi_1" for e in second.events)
    # Newer API versions omit the refunds list: the refund is the growth of amount_refunded.
    without_list = parse(
        wp.body(
            wp.stripe_event(
                "charge.refunded",
                wp.charge("ch_2", "pi_2", 10000, None, amount_refunded=4000),
                previous={"amount_refunded": 1500},
            )
        ).decode(),
        {},
        SOURCE,
    )
    assert [e["data"]["amount_minor"] for e in without_list.events] == [2500]
    _catalog_valid(second)


def test_payment_failed_maps_failure_code_and_unparseable_stripe_object_is_rejected_with_reasons() -> None:
    parse = registry.get("stripe").parse
    failed = parse(
        wp.body(
            wp.stripe_event(
                "payment_intent.payment_failed",
                wp.payment_intent(
                    "pi_5",
                    9000,
                    status="requires_payment_method",
                    error={"code": "card_declined", "decline_code": "insufficient_funds"},
                ),
            )
        ).decode(),
        {},
        SOURCE,
    )
    assert failed.events[0]["type"] == "payment.failed"
    assert failed.events[0]["data"]["failure_code"] == "insufficient_funds"
    _catalog_valid(failed)
    broken = wp.stripe_event("payment_intent.succeeded", {"id": "pi_6", "currency": "gbp"})
    bad = parse(wp.body(broken).decode(), {}, SOURCE)
    assert bad.events == [] and len(bad.rejected) == 1
    assert ["stripe", "data", "object", "amount"] in [r.loc for r in bad.rejected[0].reasons]
    not_json = parse("{not json", {}, SOURCE)
    assert not_json.rejected[0].reasons[0].type == "invalid_json"


# ----- Resend / Svix ------------------------------------------------------------------------------------------


def test_svix_signature_from_standardwebhooks_verifies_and_forgery_staleness_and_tampering_do_not() -> None:
    raw = wp.body(wp.resend_event("email.delivered"))
    headers = wp.svix_headers(raw)
    _verify("resend", raw, headers, [wp.SVIX_SECRET])
    webhook_names = {k.replace("svix-", "webhook-"): v for k, v in headers.items()}
    _verify("resend", raw, webhook_names, [wp.SVIX_SECRET])
    with pytest.raises(providers.Refused):
        _verify("resend", raw + b" ", headers, [wp.SVIX_SECRET])
    with pytest.raises(providers.Refused, match="old"):
        _verify(
            "resend", raw, wp.svix_headers(raw, timestamp=datetime.now(UTC) - timedelta(minutes=6)), [wp.SVIX_SECRET]
        )
    other = "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0zMmI="
    with pytest.raises(providers.Refused):
        _verify("resend", raw, wp.svix_headers(raw, secret=other), [wp.SVIX_SECRET])
    with pytest.raises(providers.Refused, match="required"):
        _verify("resend", raw, {"svix-id": "msg_1"}, [wp.SVIX_SECRET])


@pytest.mark.parametrize(
    ("resend_type", "canonical"),
    [
        ("email.sent", "email.sent"),
        ("email.delivered", "email.delivered"),
        ("email.opened", "email.opened"),
        ("email.clicked", "email.clicked"),
        ("email.bounced", "email.bounced"),
        ("email.complained", "email.complained"),
    ],
)
def test_resend_types_map_to_canonical_email_events(resend_type: str, canonical: str) -> None:
    extra: dict[str, Any] = {}
    if resend_type == "email.clicked":
        extra["click"] = {
            "ipAddress": "198.51.100.1",
            "link": "https://roseandthorn.example/brochure",
            "timestamp": "2026-11-20T10:01:00Z",
            "userAgent": "Mozilla/5.0",
        }
    if resend_type == "email.bounced":
        extra["bounce"] = {"message": "mailbox does not exist", "subType": "General", "type": "Permanent"}
    raw = wp.body(wp.resend_event(resend_type, **extra))
    mapped = registry.get("resend").parse(raw.decode(), {"svix-id": "msg_2Ab3"}, SOURCE)
    [event] = mapped.events
    assert event["type"] == canonical and event["event_id"] == "resend:msg_2Ab3"
    assert event["data"]["message_id"] == "4ef9a417-02e9-4d39-ad75-9611e0fcc33c"
    assert event["data"]["template"] == "brochure" and event["client_id"] == "c-7"
    if canonical == "email.clicked":
        assert event["data"]["url"] == "https://roseandthorn.example/brochure"
    if canonical == "email.bounced":
        assert event["data"]["bounce_type"] == "hard"
    _catalog_valid(mapped)


def test_resend_types_we_do_not_use_are_ignored() -> None:
    mapped = registry.get("resend").parse(wp.body(wp.resend_event("email.delivery_delayed")).decode(), {}, SOURCE)
    assert (mapped.ignored, mapped.events, mapped.rejected) == (1, [], [])


# ----- SendGrid ---------------------------------------------------------------------------------------------


def test_sendgrid_ecdsa_signature_verifies_with_the_public_key_and_refuses_tampering_and_other_keys() -> None:
    private, public = wp.sendgrid_keys()
    raw = wp.body([wp.sendgrid_item("delivered")])
    headers = wp.sendgrid_headers(raw, private)
    _verify("sendgrid", raw, headers, [public])
    with pytest.raises(providers.Refused):
        _verify("sendgrid", raw.replace(b"delivered", b"bounce"), headers, [public])
    _, other_public = wp.sendgrid_keys()
    with pytest.raises(providers.Refused):
        _verify("sendgrid", raw, headers, [other_public])
    with pytest.raises(providers.Refused, match="old"):
        _verify("sendgrid", raw, wp.sendgrid_headers(raw, private, int(time.time()) - 3600), [public])
    assert registry.get("sendgrid").check_secret(public) is None
    assert registry.get("sendgrid").check_secret("not a key") is not None


def test_sendgrid_batch_maps_each_item_ignores_unused_and_rejects_only_the_bad_one() -> None:
    items = [
        wp.sendgrid_item("processed"),
        wp.sendgrid_item("delivered"),
        wp.sendgrid_item("open"),
        wp.sendgrid_item("click", url="https://roseandthorn.example/prices"),
        wp.sendgrid_item("bounce", type="bounce", reason="550 5.1.1 unknown user"),
        wp.sendgrid_item("spamreport"),
        wp.sendgrid_item("deferred"),
        wp.sendgrid_item("unsubscribe"),
        {"email": "x@example.com", "event": "delivered", "timestamp": "yesterday"},
    ]
    mapped = registry.get("sendgrid").parse(wp.body(items).decode(), {}, SOURCE)
    assert mapped.items == 9 and mapped.ignored == 2
    assert [e["type"] for e in mapped.events] == [
        "email.sent",
        "email.delivered",
        "email.opened",
        "email.clicked",
        "email.bounced",
        "email.complained",
    ]
    assert mapped.events[4]["data"]["bounce_type"] == "hard"
    assert mapped.events[0]["data"]["campaign"] == "welcome_email"
    [bad] = mapped.rejected
    assert {tuple(r.loc) for r in bad.reasons} == {("sendgrid", 8, "sg_event_id"), ("sendgrid", 8, "timestamp")}
    _catalog_valid(mapped)


# ----- Postmark, Typeform, generic form ---------------------------------------------------------------------


def test_postmark_basic_auth_is_compared_against_the_source_credentials() -> None:
    raw = b'{"RecordType": "Delivery"}'
    _verify("postmark", raw, wp.postmark_headers("wedsync:s3cret-s3cret-s3cret"), ["wedsync:s3cret-s3cret-s3cret"])
    with pytest.raises(providers.Refused):
        _verify("postmark", raw, wp.postmark_headers("wedsync:guess"), ["wedsync:s3cret-s3cret-s3cret"])
    with pytest.raises(providers.Refused):
        _verify("postmark", raw, {}, ["wedsync:s3cret-s3cret-s3cret"])


def test_postmark_records_map_to_email_events() -> None:
    bounce = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Email": "ava@example.com",
        "BouncedAt": "2026-11-20T10:00:00Z",
        "Tag": "Invitation",
        "Metadata": {"client_id": "c-3"},
    }
    opened = {
        "RecordType": "Open",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "FirstOpen": True,
        "Recipient": "ava@example.com",
        "ReceivedAt": "2026-11-20T11:00:00Z",
        "Tag": "Invitation",
    }
    change = {"RecordType": "SubscriptionChange", "MessageID": "x", "ChangedAt": "2026-11-20T11:00:00Z"}
    parse = registry.get("postmark").parse
    b, o, c = (parse(wp.body(r).decode(), {}, SOURCE) for r in (bounce, opened, change))
    assert b.events[0]["type"] == "email.bounced" and b.events[0]["data"]["bounce_type"] == "hard"
    assert b.events[0]["client_id"] == "c-3" and b.events[0]["data"]["campaign"] == "invitation"
    assert o.events[0]["type"] == "email.opened"
    assert c.ignored == 1 and c.events == []
    _catalog_valid(b)
    _catalog_valid(o)


def test_typeform_signature_is_the_base64_hmac_of_the_body() -> None:
    raw = wp.body(wp.typeform_response())
    _verify("typeform", raw, wp.typeform_headers(raw, "tf-secret"), ["tf-secret"])
    with pytest.raises(providers.Refused):
        _verify("typeform", raw + b"\n", wp.typeform_headers(raw, "tf-secret"), ["tf-secret"])
    with pytest.raises(providers.Refused):
        _verify("typeform", raw, {}, ["tf-secret"])


def test_typeform_response_on_an_inquiry_form_becomes_form_submitted_and_inquiry_received() -> None:
    source = providers.Source(uuid4(), uuid4(), "typeform", {"inquiry_forms": ["lT4Z3j"]})
    mapped = registry.get("typeform").parse(wp.body(wp.typeform_response()).decode(), {}, source)
    submitted, inquiry = mapped.events
    assert submitted["type"] == "form.submitted" and submitted["data"]["is_inquiry"] is True
    assert submitted["data"]["form_name"] == "Wedding enquiry"
    assert inquiry["type"] == "inquiry.received" and inquiry["data"]["lead_source"] == "instagram"
    assert inquiry["data"]["wedding_date"] == "2027-06-12" and inquiry["data"]["guest_count"] == 120
    _catalog_valid(mapped)
    plain = registry.get("typeform").parse(wp.body(wp.typeform_response(form_id="other")).decode(), {}, source)
    assert [e["type"] for e in plain.events] == ["form.submitted"]


def test_generic_form_signature_covers_timestamp_and_body_and_refuses_stale_or_swapped_timestamps() -> None:
    raw = wp.body({"submission_id": "sub-1", "form_id": "contact", "submitted_at": "2026-11-20T10:00:00Z"})
    headers = wp.form_headers(raw, "form-secret")
    _verify("form", raw, headers, ["form-secret"])
    swapped = {**headers, "X-WedSync-Timestamp": str(int(time.time()) + 1)}
    with pytest.raises(providers.Refused):
        _verify("form", raw, swapped, ["form-secret"])
    with pytest.raises(providers.Refused, match="old"):
        _verify("form", raw, wp.form_headers(raw, "form-secret", int(time.time()) - 301), ["form-secret"])


def test_generic_form_marked_inquiry_gives_an_inquiry_with_its_lead_source_and_source_default() -> None:
    source = providers.Source(uuid4(), uuid4(), "form", {"lead_source": "website"})
    doc = {
        "submission_id": "sub-2",
        "form_id": "contact",
        "submitted_at": "2026-11-20T10:00:00Z",
        "is_inquiry": True,
        "email": "mia@example.com",
        "budget_minor": 600000,
        "currency": "gbp",
        "fields": {"message": "We're getting married!"},
    }
    mapped = registry.get("form").parse(wp.body(doc).decode(), {}, source)
    assert [e["type"] for e in mapped.events] == ["form.submitted", "inquiry.received"]
    assert mapped.events[1]["data"]["lead_source"] == "website"
    assert mapped.events[1]["client_id"].startswith("pii:")  # identifiers never carry an email in clear
    _catalog_valid(mapped)
