from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.catalog import events
from shared.core import db
from shared.validate import validation
from tests import factories


def _post(app: Any, key: str | None, body: Any, content_type: str = "application/json") -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return app.post("/v1/events", data=data, headers=headers, content_type=content_type)


def _drain() -> validation.BatchOutcome:
    totals, more = validation.drain(db.transaction)
    assert not more
    return totals


@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
def test_every_event_type_is_accepted_stored_and_handed_to_aggregation(
    event_type: str, ingest_app: Any, make_org: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    event = factories.make_event(event_type)
    answer = _post(ingest_app, org.ingest_key, event)
    assert answer.status_code == 202, answer.json
    assert answer.json == {"accepted": 1, "duplicates": 0, "rejected": []}
    outcome = _drain()
    assert (outcome.stored, outcome.duplicates, outcome.rejected) == (1, 0, 0)
    row = conn.execute(
        "select event_type, organization_id, properties from analytics_events where event_id = %s",
        (event["event_id"],),
    ).fetchone()
    assert row is not None and row[0] == event_type and row[1] == org.id
    handed = conn.execute("select message from pgmq.q_aggregate").fetchall()
    assert len(handed) == 1 and len(handed[0][0]["ids"]) == 1


def test_batch_answer_counts_accepted_duplicates_and_lists_each_rejection(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    good = make_event("payment.succeeded")
    bad = make_event("payment.succeeded", amount_minor=-5, currency="XYZ")
    answer = _post(ingest_app, org.ingest_key, {"events": [good, good, bad]})
    assert answer.status_code == 202
    body = answer.json
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    assert [r["index"] for r in body["rejected"]] == [2]
    problems = {tuple(e["loc"]): e["msg"] for e in body["rejected"][0]["errors"]}
    assert ("data", "amount_minor") in problems and ("data", "currency") in problems
    assert "ISO 4217" in problems[("data", "currency")]


def test_resending_stored_events_reports_them_as_duplicates_and_stores_nothing_twice(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    batch = [make_event("inquiry.received") for _ in range(5)]
    assert _post(ingest_app, org.ingest_key, {"events": batch}).json["accepted"] == 5
    _drain()
    again = _post(ingest_app, org.ingest_key, {"events": batch})
    assert again.json == {"accepted": 0, "duplicates": 5, "rejected": []}
    assert conn.execute("select count(*) from analytics_events").fetchone() == (5,)


def test_duplicates_queued_before_the_first_copy_was_stored_are_counted_not_stored(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    event = make_event("app.action")
    for _ in range(3):
        assert _post(ingest_app, org.ingest_key, event).json["accepted"] == 1
    outcome = _drain()
    assert (outcome.stored, outcome.duplicates) == (1, 2)
    assert conn.execute("select count(*) from analytics_events").fetchone() == (1,)


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda e: e.update(type="booking.exploded"), ("type",)),
        (lambda e: e.pop("type"), ("type",)),
        (lambda e: e.update(surprise=1), ("surprise",)),
        (lambda e: e["data"].pop("payment_id"), ("data", "payment_id")),
        (lambda e: e["data"].update(amount_minor="5000"), ("data", "amount_minor")),
        (lambda e: e["data"].update(amount_minor=50.5), ("data", "amount_minor")),
        (lambda e: e["data"].update(amount_minor=-100), ("data", "amount_minor")),
        (lambda e: e["data"].update(currency="EURO"), ("data", "currency")),
        (lambda e: e["data"].update(kind="tip"), ("data", "kind")),
        (
            lambda e: e.update(occurred_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()),
            ("occurred_at",),
        ),
        (lambda e: e.update(occurred_at="yesterday"), ("occurred_at",)),
        (lambda e: e.update(event_id=""), ("event_id",)),
    ],
)
def test_bad_events_are_rejected_with_the_field_and_kept_in_the_dead_letters(
    mutate: Callable[[dict[str, Any]], Any],
    loc: tuple[str, ...],
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    event = make_event("payment.succeeded")
    mutate(event)
    answer = _post(ingest_app, org.ingest_key, event)
    assert answer.status_code == 202
    assert answer.json["accepted"] == 0
    errors = answer.json["rejected"][0]["errors"]
    assert loc in [tuple(e["loc"]) for e in errors], errors
    assert all(e["msg"] for e in errors)
    letter = conn.execute("select stage, reasons, payload, organization_id from analytics_dead_letters").fetchone()
    assert letter is not None
    assert letter[0] == "ingest" and letter[3] == org.id
    assert [tuple(r["loc"]) for r in letter[1]] == [tuple(e["loc"]) for e in errors]


def test_review_needs_a_rating_or_an_nps_score(
    ingest_app: Any, make_org: Callable[..., Any], make_event: Callable[..., Any]
) -> None:
    org = make_org()
    answer = _post(ingest_app, org.ingest_key, make_event("review.received", rating=None, nps=None))
    assert "rating" in answer.json["rejected"][0]["errors"][0]["msg"]
    for score in ({"rating": 6}, {"nps": 11}, {"rating": 0}):
        answer = _post(ingest_app, org.ingest_key, make_event("review.received", **score))
        assert answer.json["accepted"] == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        ([1, 2], "application/json", 400, "invalid_envelope"),
        ({"events": []}, "application/json", 400, "invalid_envelope"),
        ({"events": "x"}, "application/json", 400, "invalid_envelope"),
        ({"events": [{}], "extra": 1}, "application/json", 400, "invalid_envelope"),
        ({"events": [{}] * 1001}, "application/json", 413, "too_many_events"),
        (b"x" * (1024 * 1024 + 1), "application/json", 413, "too_large"),
        (b"{}", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_malformed_requests_get_a_clear_error_and_the_right_status(
    body: Any,
    content_type: str,
    status: int,
    error: str,
    ingest_app: Any,
    make_org: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    answer = _post(ingest_app, org.ingest_key, body, content_type)
    assert answer.status_code == status
    assert answer.json["error"] == error and answer.json["message"]
    assert conn.execute("select count(*) from pgmq.q_ingest").fetchone() == (0,)


def test_missing_bad_revoked_or_wrongly_scoped_keys_are_refused(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    event = make_event()
    assert _post(ingest_app, None, event).status_code == 401
    assert _post(ingest_app, "wsk_nope_nope", event).status_code == 401
    assert _post(ingest_app, org.read_key, event).status_code == 403
    conn.execute("update api_keys set revoked_at = now() where organization_id = %s", (org.id,))
    from shared.core import apikeys

    apikeys.cache.clear()  # otherwise the revocation bites after API_KEY_CACHE_SECONDS
    assert _post(ingest_app, org.ingest_key, event).status_code == 401
    assert conn.execute("select count(*) from pgmq.q_ingest").fetchone() == (0,)


def test_personal_data_is_pseudonymised_before_it_is_stored(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    _post(
        ingest_app,
        org.ingest_key,
        make_event("client.created", email="Ava@Example.com", phone="+44 7700 900123"),
    )
    _post(ingest_app, org.ingest_key, make_event("booking.cancelled", reason="see ava@example.com"))
    _drain()
    stored = json.dumps([r[0] for r in conn.execute("select properties from analytics_events")])
    queued = json.dumps([r[0] for r in conn.execute("select message from pgmq.q_aggregate")])
    assert "example.com" not in stored.lower() and "7700" not in stored and "example.com" not in queued
    props = conn.execute("select properties from analytics_events where event_type = 'client.created'").fetchone()
    assert props is not None and props[0]["email"].startswith("pii:")


def test_missing_currency_is_filled_with_the_organizations_and_naive_times_read_in_its_zone(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org(timezone="Asia/Kathmandu", currency="NPR")
    event = make_event("payment.succeeded", currency=None, occurred_at="2026-01-15T09:00:00")
    assert _post(ingest_app, org.ingest_key, event).json["accepted"] == 1
    _drain()
    row = conn.execute("select currency, amount_minor, occurred_at from analytics_events").fetchone()
    assert row is not None
    assert row[0] == "NPR" and row[1] == 80000
    assert row[2] == datetime(2026, 1, 15, 3, 15, tzinfo=UTC)  # Kathmandu is UTC+05:45


def test_intake_counters_add_up_per_source(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    first = [make_event("app.action") for _ in range(4)]
    _post(ingest_app, org.ingest_key, {"events": [*first, first[0], make_event("app.action", user_id=None)]})
    _post(ingest_app, org.ingest_key, first[1])  # queued again before the first copy is stored
    _drain()
    _post(ingest_app, org.ingest_key, first[2])  # known by now: stopped at ingest
    row = conn.execute(
        "select sum(received), sum(stored), sum(duplicates), sum(rejected) "
        "from analytics_source_stats where organization_id = %s and source = 'api'",
        (org.id,),
    ).fetchone()
    assert row == (8, 4, 3, 1)


def test_a_message_for_an_unknown_organization_is_dead_lettered_not_retried_forever(
    make_org: Callable[..., Any], make_event: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    from shared.core import queues
    from shared.ingest import intake

    ghost = "00000000-0000-4000-8000-000000000001"
    with db.transaction() as c:
        queues.send(
            c,
            "ingest",
            intake.IngestMessage(
                organization_id=ghost, source="api", received_at=datetime.now(UTC), events=[make_event()]
            ),
        )
    outcome = _drain()
    assert (outcome.messages, outcome.stored, outcome.dead_messages) == (1, 0, 1)
    reasons = conn.execute("select reasons from analytics_dead_letters").fetchone()
    assert reasons is not None and reasons[0][0]["type"] == "unknown_organization"
    assert conn.execute("select count(*) from pgmq.q_ingest").fetchone() == (0,)


def test_a_message_read_too_often_goes_to_the_dead_letters(
    make_org: Callable[..., Any], make_event: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    from shared.core import apikeys, settings
    from shared.ingest import intake

    org = make_org()
    caller = apikeys.KeyCache().lookup(db.transaction, org.ingest_key)
    assert caller is not None
    intake.accept(db.transaction, caller, [make_event(), make_event()])
    limit = settings.get_settings().queue_max_reads
    conn.execute("update pgmq.q_ingest set read_ct = %s", (limit,))  # as if every earlier read had crashed
    outcome = _drain()
    assert (outcome.stored, outcome.dead_messages, outcome.rejected) == (0, 1, 2)
    rows = conn.execute("select reasons->0->>'type', payload ? 'event_id' from analytics_dead_letters").fetchall()
    assert rows == [("retry_limit", True), ("retry_limit", True)]


def test_a_batch_the_database_refuses_is_split_so_only_the_bad_message_is_dead_lettered(
    ingest_app: Any,
    make_org: Callable[..., Any],
    make_event: Callable[..., Any],
    conn: psycopg.Connection[Any],
) -> None:
    org = make_org()
    good = [make_event("app.action") for _ in range(3)]
    for event in good:
        _post(ingest_app, org.ingest_key, event)
    # A message that passes the catalog but that the database refuses: an event id longer than a text index
    # entry can hold is one; simpler, a trigger standing in for any constraint the database enforces.
    conn.execute("""create function refuse_poison() returns trigger language plpgsql as $$
        begin if new.event_id = 'poison' then raise exception 'refused by a database rule'; end if;
        return new; end $$""")
    conn.execute(
        "create trigger refuse_poison before insert on analytics_event_keys "
        "for each row execute function refuse_poison()"
    )
    _post(ingest_app, org.ingest_key, make_event("app.action", event_id="poison"))
    outcome = _drain()
    assert (outcome.stored, outcome.dead_messages) == (3, 1)
    letter = conn.execute(
        "select event_id, reasons->0->>'type', reasons->0->>'msg' from analytics_dead_letters"
    ).fetchone()
    assert letter is not None and letter[0] == "poison" and letter[1] == "store_failed"
    assert "refused by a database rule" in letter[2]


def test_events_queued_by_anything_but_ingest_are_checked_again_before_storage(
    make_org: Callable[..., Any], make_event: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    """Ingest marks what it checked; a replay or any other producer's message is held to the catalog in validate."""
    from shared.core import queues
    from shared.ingest import intake

    org = make_org()
    good, bad = make_event("app.action"), make_event("payment.succeeded", amount_minor=-1)
    with db.transaction() as c:
        queues.send(
            c,
            "ingest",
            intake.IngestMessage(
                organization_id=org.id, source="api", received_at=datetime.now(UTC), events=[good, bad]
            ),
        )
    outcome = _drain()
    assert (outcome.stored, outcome.rejected) == (1, 1)
    letter = conn.execute("select stage, event_id, reasons->0->'loc' from analytics_dead_letters").fetchone()
    assert letter == ("validate", bad["event_id"], ["data", "amount_minor"])


def test_ingest_marks_the_messages_it_checked(
    ingest_app: Any, make_org: Callable[..., Any], make_event: Callable[..., Any], conn: psycopg.Connection[Any]
) -> None:
    org = make_org()
    _post(ingest_app, org.ingest_key, make_event("app.action"))
    assert conn.execute("select message->>'checked' from pgmq.q_ingest").fetchone() == ("true",)
