"""Every metric says what it counts in plain words, and docs/metrics.md is generated from those words."""

from __future__ import annotations

from shared.metrics import definitions, registry
from shared.tools import metricsdoc, runner


def test_the_metrics_reference_is_generated_from_the_definitions_the_api_serves() -> None:
    committed = (runner.ROOT / "docs" / "metrics.md").read_text()
    assert committed == metricsdoc.render(), "stale: python -m shared.tools.metricsdoc > docs/metrics.md"


def test_every_metric_in_the_catalog_carries_its_plain_definition() -> None:
    served = {m.name: m.definition for m in registry.catalog()}
    assert served.keys() == registry.REGISTRY.keys()
    assert all(len(text) > 20 for text in served.values()), [n for n, t in served.items() if len(t) <= 20]
    assert served == {name: definitions.DEFINITIONS[name] for name in served}
    assert not set(definitions.DEFINITIONS) - set(served), "a definition for a metric that does not exist"


def test_money_event_counts_say_they_are_across_currencies_and_money_says_per_currency() -> None:
    for name in ("payments", "payments_failed"):
        assert not registry.get(name).per_currency
        assert "across currencies" in registry.get(name).definition
    for name in ("booking_value", "revenue_gross", "refunds", "revenue_net"):
        assert registry.get(name).per_currency
        assert "Per currency" in registry.get(name).definition


def test_new_clients_and_bookings_read_each_client_and_booking_once() -> None:
    assert registry.get("new_clients").sources == {"clients.first_seen"}
    assert registry.get("bookings").sources == {"bookings.made"}
    assert registry.get("net_bookings").sources == {"bookings.made", "bookings.cancelled"}
    assert registry.get("booking_confirmations").sources == {"booking.confirmed"}
    assert "first event of any type" in registry.get("new_clients").definition
