from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from pydantic import ValidationError

from shared.catalog import currencies, envelope, events, privacy
from shared.core import queries
from shared.tools import cli
from tests import factories


def test_committed_json_schema_matches_the_catalog() -> None:
    committed = json.loads(cli.SCHEMA_FILE.read_text())
    assert committed == json.loads(json.dumps(events.json_schema())), "run: wedsync-analytics schema export"


def test_factories_cover_every_catalog_type() -> None:
    assert set(factories.SAMPLE_DATA) == set(events.EVENT_TYPES)


@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
def test_every_type_rejects_unknown_data_fields(event_type: str) -> None:
    with pytest.raises(ValidationError) as caught:
        events.validate(factories.make_event(event_type, surprise="x"))
    assert any(e["type"] == "extra_forbidden" for e in caught.value.errors())


def test_naive_times_are_read_in_the_given_zone_including_quarter_hour_offsets() -> None:
    event = events.validate(factories.make_event(occurred_at="2026-03-01T12:00:00"), tz=ZoneInfo("Australia/Eucla"))
    assert event.occurred_at == datetime(2026, 3, 1, 3, 15, tzinfo=UTC)  # Eucla is UTC+08:45


def test_future_limit_is_measured_from_the_moment_of_receipt() -> None:
    received = datetime(2026, 1, 1, tzinfo=UTC)
    event = factories.make_event(occurred_at=(received + timedelta(minutes=5)).isoformat())
    assert events.validate(event, now=received)
    with pytest.raises(ValidationError):
        events.validate(event, now=received - timedelta(minutes=10))


def test_money_must_be_integer_minor_units() -> None:
    for amount in (10.0, "10", True, 0, -1):
        with pytest.raises(ValidationError):
            events.validate(factories.make_event("payment.succeeded", amount_minor=amount))


def test_pseudonyms_are_stable_keyed_and_ignore_formatting() -> None:
    key = b"k"
    assert privacy.pseudonym("Ava@Example.com ", key) == privacy.pseudonym("ava@example.com", key)
    assert privacy.pseudonym("+44 7700-900123", key) == privacy.pseudonym("+447700900123", key)
    assert privacy.pseudonym("ava@example.com", key) != privacy.pseudonym("ava@example.com", b"other")
    scrubbed = privacy.scrub({"data": {"email": "a@b.co", "reason": "call a@b.co", "n": 3}}, key)
    assert "a@b.co" not in json.dumps(scrubbed) and scrubbed["data"]["n"] == 3


def test_money_formatting_is_exact_for_every_minor_unit_size() -> None:
    assert currencies.format_minor(123456, "EUR") == "1,234.56 EUR"
    assert currencies.format_minor(123456, "JPY") == "123,456 JPY"
    assert currencies.format_minor(-1005, "KWD") == "-1.005 KWD"


def test_named_queries_parse_and_refuse_duplicates() -> None:
    parsed = queries.parse("-- name: a\n-- first\nselect 1;\n-- name: b\n-- second\nselect 2;\n")
    assert parsed == {"a": "select 1", "b": "select 2"}
    with pytest.raises(ValueError, match="twice"):
        queries.parse("-- name: a\nselect 1;\n-- name: a\nselect 2;\n")
    assert "pgmq.read" in queries.get("queue_read")
    with pytest.raises(KeyError, match="no_such_query"):
        queries.get("no_such_query")


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"client_id": "ava@example.com"}, ("client_id",)),
        ({"url": "https://x.example/?u=ava@example.com"}, ("data", "url")),
    ],
)
def test_an_email_used_as_an_id_or_inside_a_url_is_refused_naming_the_field(
    overrides: dict[str, Any], loc: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        events.validate(factories.make_event("email.clicked", **overrides), pii_key=b"k")
    assert [e["loc"][1:] for e in caught.value.errors()] == [loc]
    assert "personal data" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    "text",
    ["call ava@example.com", "call 07700 900123", "call +44 7700 900123", "call (415) 555-2671", "ring 01 42 68 53 00"],
)
def test_personal_data_in_free_text_is_refused_whatever_its_format(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        events.validate(
            factories.make_event("booking.cancelled", reason=text), tz=ZoneInfo("Europe/Paris"), pii_key=b"k"
        )
    assert [e["loc"][1:] for e in caught.value.errors()] == [("data", "reason")]


@pytest.mark.parametrize("text", ["date moved to 2027-06-12", "budget 4500000 for 120 guests", "invoice 20261115"])
def test_numbers_that_are_not_phone_numbers_stay_in_free_text(text: str) -> None:
    assert events.validate(factories.make_event("booking.cancelled", reason=text), pii_key=b"k")


def test_phone_numbers_left_in_refused_text_are_pseudonymised_in_the_dead_letter_copy() -> None:
    scrubbed = privacy.scrub({"reason": "call 07700 900123", "payment_id": "07700900123"}, b"k")
    assert "900123" not in scrubbed["reason"] and scrubbed["payment_id"] == "07700900123"


@pytest.mark.parametrize("when", [1767225600, 1767225600.5, "2026-01-01", "2026-01-01T10:00", "01/02/2026 10:00:00"])
def test_occurred_at_is_an_rfc_3339_date_time_string_only(when: Any) -> None:
    with pytest.raises(ValidationError, match="RFC 3339"):
        events.validate(factories.make_event(occurred_at=when))


def test_a_local_time_in_a_dst_gap_is_refused_and_one_in_a_fold_is_the_first_occurrence() -> None:
    london = ZoneInfo("Europe/London")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="DST gap"):
        events.validate(factories.make_event(occurred_at="2026-03-29T01:30:00"), tz=london, now=now)
    folded = events.validate(factories.make_event(occurred_at="2026-10-25T01:30:00"), tz=london, now=now)
    assert folded.occurred_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # BST, the first 01:30
    assert events.validate(factories.make_event(occurred_at="2026-10-25T01:30:00Z"), tz=london, now=now)


def test_every_currency_in_circulation_is_known_with_its_minor_unit() -> None:
    # ISO 4217 list one (circulating currencies, fund and precious-metal codes excluded), as of 2026.
    circulating = set(
        [
            "AED",
            "AFN",
            "ALL",
            "AMD",
            "ANG",
            "AOA",
            "ARS",
            "AUD",
            "AWG",
            "AZN",
            "BAM",
            "BBD",
            "BDT",
            "BGN",
            "BHD",
            "BIF",
            "BMD",
            "BND",
            "BOB",
            "BRL",
            "BSD",
            "BTN",
            "BWP",
            "BYN",
            "BZD",
            "CAD",
            "CDF",
            "CHF",
            "CLP",
            "CNY",
            "COP",
            "CRC",
            "CUP",
            "CVE",
            "CZK",
            "DJF",
            "DKK",
            "DOP",
            "DZD",
            "EGP",
            "ERN",
            "ETB",
            "EUR",
            "FJD",
            "FKP",
            "GBP",
            "GEL",
            "GHS",
            "GIP",
            "GMD",
            "GNF",
            "GTQ",
            "GYD",
            "HKD",
            "HNL",
            "HTG",
            "HUF",
            "IDR",
            "ILS",
            "INR",
            "IQD",
            "IRR",
            "ISK",
            "JMD",
            "JOD",
            "JPY",
            "KES",
            "KGS",
            "KHR",
            "KMF",
            "KPW",
            "KRW",
            "KWD",
            "KYD",
            "KZT",
            "LAK",
            "LBP",
            "LKR",
            "LRD",
            "LSL",
            "LYD",
            "MAD",
            "MDL",
            "MGA",
            "MKD",
            "MMK",
            "MNT",
            "MOP",
            "MRU",
            "MUR",
            "MVR",
            "MWK",
            "MXN",
            "MYR",
            "MZN",
            "NAD",
            "NGN",
            "NIO",
            "NOK",
            "NPR",
            "NZD",
            "OMR",
            "PAB",
            "PEN",
            "PGK",
            "PHP",
            "PKR",
            "PLN",
            "PYG",
            "QAR",
            "RON",
            "RSD",
            "RUB",
            "RWF",
            "SAR",
            "SBD",
            "SCR",
            "SDG",
            "SEK",
            "SGD",
            "SHP",
            "SLE",
            "SOS",
            "SRD",
            "SSP",
            "STN",
            "SVC",
            "SYP",
            "SZL",
            "THB",
            "TJS",
            "TMT",
            "TND",
            "TOP",
            "TRY",
            "TTD",
            "TWD",
            "TZS",
            "UAH",
            "UGX",
            "USD",
            "UYU",
            "UZS",
            "VED",
            "VES",
            "VND",
            "VUV",
            "WST",
            "XAF",
            "XCD",
            "XOF",
            "XPF",
            "YER",
            "ZAR",
            "ZMW",
            "ZWG",
        ]
    )
    assert circulating <= currencies.CODES, sorted(circulating - currencies.CODES)
    assert (currencies.exponent("USD"), currencies.exponent("JPY"), currencies.exponent("BHD")) == (2, 0, 3)


def test_a_missing_migrations_folder_is_an_error_not_an_empty_schema(tmp_path: Any, monkeypatch: Any) -> None:
    from shared.core import migrations

    monkeypatch.setenv("WEDSYNC_MIGRATIONS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="WEDSYNC_MIGRATIONS_DIR"):
        migrations.discover()


def _slug_by_rewriting(value: str) -> str | None:
    """The slug rule as written before its fast path: strip, lower-case, runs of spaces and '-' become '_'."""
    normalised = re.sub(r"[\s-]+", "_", value.strip().lower())
    return normalised if re.match(r"^[a-z0-9][a-z0-9_.-]{0,63}$", normalised) else None


@hypothesis.given(
    hypothesis.strategies.one_of(
        hypothesis.strategies.text(alphabet="abcXYZ019_.- \t\n-", max_size=70),
        hypothesis.strategies.from_regex(r"[a-z0-9][a-z0-9_.]{0,70}", fullmatch=True),
        hypothesis.strategies.text(max_size=70),
    )
)
def test_a_slug_is_kept_or_normalised_exactly_as_by_rewriting_it(value: str) -> None:
    expected = _slug_by_rewriting(value)
    try:
        got: str | None = envelope._slug(value)
    except ValueError:
        got = None
    assert got == expected
