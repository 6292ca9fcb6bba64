from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from shared.core import db
from shared.validate import validation


def _post(app: Any, key: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return app.post(
        "/v1/events",
        data=body,
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
        content_type="application/json",
    )


def _drain() -> None:
    _, more = validation.drain(db.transaction)
    assert not more


def _field(name: str, raw: str) -> Callable[[str], str]:
    """Puts `"name": <raw JSON>` into the data of an event's JSON text (raw: what json.dumps cannot write)."""
    return lambda text: text.replace('"data": {', f'"data": {{"{name}": {raw}, ', 1)


# (what makes the event hostile, as an edit of its JSON text; the loc the reason must name; its type)
HOSTILE: dict[str, tuple[Callable[[str], str], tuple[str | int, ...], str]] = {
    "nan": (_field("amount_minor", "NaN"), ("data", "amount_minor"), "non_finite_number"),
    "infinity": (_field("amount_minor", "Infinity"), ("data", "amount_minor"), "non_finite_number"),
    "minus_infinity": (_field("amount_minor", "-Infinity"), ("data", "amount_minor"), "non_finite_number"),
    "beyond_double": (_field("amount_minor", "1e309"), ("data", "amount_minor"), "non_finite_number"),
    "huge_integer": (_field("amount_minor", "9" * 5000), ("data", "amount_minor"), "non_finite_number"),
    "nul_in_value": (_field("reason", '"late\\u0000fee"'), ("data", "reason"), "nul_character"),
    "nul_in_identifier": (
        lambda t: t.replace('"event_id": "', '"event_id": "x\\u0000', 1),
        ("event_id",),
        "nul_character",
    ),
    "nul_in_key": (_field("re\\u0000ason", '"x"'), ("data", "re\\u0000ason"), "nul_character"),
    "lone_surrogate": (_field("reason", '"\\ud83d"'), ("data", "reason"), "lone_surrogate"),
    "duplicate_key": (_field("amount_minor", "1"), ("data", "amount_minor"), "duplicate_key"),
    "deep_nesting": (_field("reason", "[" * 5000 + "]" * 5000), ("data", "reason"), "too_deep"),
    "moderately_deep": (_field("reason", "[" * 40 + "]" * 40), ("data", "reason"), "too_deep"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_one_hostile_event_is_refused_with_its_field_and_the_rest_of_the_batch_is_stored(
    case: str,
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    edit, loc, kind = HOSTILE[case]
    org = make_org()
    good = [make_event("payment.succeeded", payment_id=f"p-{i}") for i in range(20)]
    poisoned = edit(json.dumps(make_event("payment.succeeded", event_id="poisoned")))
    texts = [json.dumps(e) for e in good]
    texts.insert(7, poisoned)
    answer = _post(ingest_app, org.ingest_key, ('{"events": [' + ", ".join(texts) + "]}").encode())
    assert answer.status_code == 202, answer.json
    assert answer.json["accepted"] == 20
    [rejection] = answer.json["rejected"]
    assert rejection["index"] == 7
    # the reason names the field (a too-deep one down to the level where the limit is passed)
    assert (list(loc), kind) in [(e["loc"][: len(loc)], e["type"]) for e in rejection["errors"]], rejection
    assert all(e["msg"] for e in rejection["errors"])
    _drain()
    stored = {r[0] for r in conn.execute("select event_id from analytics_events")}
    assert stored == {e["event_id"] for e in good}
    letter = conn.execute("select payload, reasons from analytics_dead_letters").fetchone()
    assert letter is not None
    kept = letter[0]["unsafe_json"]
    assert kept.isascii() and "payment.succeeded" in kept
    assert kind in [r["type"] for r in letter[1]]


@pytest.mark.parametrize("item", ["null", "3", '"event"', "[]"])
def test_an_item_that_is_not_an_event_object_is_refused_alone(
    item: str,
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    good = json.dumps(make_event())
    answer = _post(ingest_app, org.ingest_key, f'{{"events": [{good}, {item}]}}'.encode())
    assert answer.status_code == 202, answer.json
    assert answer.json["accepted"] == 1
    assert [(r["index"], r["errors"][0]["type"]) for r in answer.json["rejected"]] == [(1, "model_type")]
    letter = conn.execute("select payload from analytics_dead_letters").fetchone()
    assert letter is not None and letter[0] == {"unsafe_json": item}


def test_a_single_hostile_event_gets_a_202_naming_the_field(
    ingest_app: Any, make_org: Callable[..., Any], make_event: Callable[..., Any]
) -> None:
    org = make_org()
    body = json.dumps(make_event("payment.succeeded")).replace('"amount_minor": 80000', '"amount_minor": NaN')
    answer = _post(ingest_app, org.ingest_key, body.encode())
    assert answer.status_code == 202
    assert answer.json["rejected"][0]["errors"][0]["loc"] == ["data", "amount_minor"]


@pytest.mark.parametrize(
    "body",
    [b'{"events": [{}], "events": [{}]}', b"\xff\xfe{}", b'{"events": [{"a": 1}', b"[" * 100_000],
)
def test_a_body_that_is_not_json_or_has_a_doubled_envelope_is_refused_whole(
    body: bytes, ingest_app: Any, make_org: Callable[..., Any]
) -> None:
    org = make_org()
    answer = _post(ingest_app, org.ingest_key, body)
    assert answer.status_code == 400
    assert answer.json["error"] in {"invalid_json", "invalid_envelope"}


def test_gzip_bodies_are_accepted(
    ingest_app: Any, make_org: Callable[..., Any], make_event: Callable[..., Any]
) -> None:
    org = make_org()
    body = gzip.compress(json.dumps({"events": [make_event() for _ in range(5)]}).encode())
    answer = _post(ingest_app, org.ingest_key, body, {"Content-Encoding": "gzip"})
    assert answer.status_code == 202, answer.json
    assert answer.json["accepted"] == 5


def test_the_size_limit_holds_on_the_decoded_gzip_body(
    ingest_app: Any, make_org: Callable[..., Any], make_event: Callable[..., Any]
) -> None:
    org = make_org()
    # random-looking event ids compress poorly, so the ratio stays honest and only the size is over
    events = [make_event(event_id=f"e-{i}-{hash((i, 'x')) & 0xFFFFFFFFFFFF:x}") for i in range(4000)]
    body = gzip.compress(json.dumps({"events": events}).encode())
    assert len(body) < 1024 * 1024
    answer = _post(ingest_app, org.ingest_key, body, {"Content-Encoding": "gzip"})
    assert answer.status_code == 413 and answer.json["error"] == "too_large"
    assert "decoded" in answer.json["message"]


def test_a_compression_bomb_under_the_size_limit_is_refused(
    ingest_app: Any, make_org: Callable[..., Any], make_event: Callable[..., Any]
) -> None:
    org = make_org()
    text = json.dumps({"events": [make_event()]}) + " " * 900_000
    body = gzip.compress(text.encode())
    answer = _post(ingest_app, org.ingest_key, body, {"Content-Encoding": "gzip"})
    assert answer.status_code == 413 and "bomb" in answer.json["message"]


@pytest.mark.parametrize(("encoding", "status"), [("br", 415), ("gzip", 400)])
def test_unknown_encodings_and_broken_gzip_are_refused(
    encoding: str, status: int, ingest_app: Any, make_org: Callable[..., Any]
) -> None:
    org = make_org()
    answer = _post(ingest_app, org.ingest_key, b"{}", {"Content-Encoding": encoding})
    assert answer.status_code == status


# (overrides of a payment.succeeded event, the loc the reason must name)
REFUSED_BY_THE_CATALOG: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "unix_time": ({"occurred_at": 1767225600}, ("occurred_at",)),
    "date_only": ({"occurred_at": "2026-01-01"}, ("occurred_at",)),
    "dst_gap": ({"occurred_at": "2026-03-29T01:30:00"}, ("occurred_at",)),
    "national_phone_in_text": ({"type": "booking.cancelled", "reason": "call 07700 900123"}, ("data", "reason")),
    "email_in_text": ({"type": "booking.cancelled", "reason": "mail ava@example.com"}, ("data", "reason")),
    "email_as_id": ({"client_id": "ava@example.com"}, ("client_id",)),
}


@pytest.mark.parametrize("case", sorted(REFUSED_BY_THE_CATALOG))
def test_contract_breaches_are_refused_naming_the_field_and_the_rest_is_stored(
    case: str,
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    overrides, loc = REFUSED_BY_THE_CATALOG[case]
    org = make_org(timezone="Europe/London")
    good = [make_event("payment.succeeded", payment_id=f"p-{i}") for i in range(10)]
    fields = dict(overrides)
    kind = fields.pop("type", "payment.succeeded")
    envelope = {k: fields.pop(k) for k in ("occurred_at", "client_id") if k in fields}
    bad = make_event(kind, event_id="poisoned", **fields)
    bad.update(envelope)
    answer = _post(ingest_app, org.ingest_key, json.dumps({"events": [*good[:3], bad, *good[3:]]}).encode())
    assert answer.status_code == 202, answer.json
    assert answer.json["accepted"] == 10
    [rejection] = answer.json["rejected"]
    assert rejection["index"] == 3 and list(loc) in [e["loc"] for e in rejection["errors"]], rejection
    _drain()
    assert {r[0] for r in conn.execute("select event_id from analytics_events")} == {e["event_id"] for e in good}
    letter = conn.execute("select payload from analytics_dead_letters").fetchone()
    assert letter is not None and letter[0]["event_id"] == "poisoned"
    assert "ava@example.com" not in json.dumps(letter[0]) and "900123" not in json.dumps(letter[0])
