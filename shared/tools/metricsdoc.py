"""docs/metrics.md, generated from the metric registry's definitions (`shared/metrics/definitions.py`), the same
words `GET /v1/metrics` serves, so the reference cannot drift from what the API says.

Regenerate with `python -m shared.tools.metricsdoc > docs/metrics.md`; a test fails when it is stale.
"""

from __future__ import annotations

from shared.metrics import definitions, registry, seasons, weddings

_HEAD = """# Metric definitions

Generated from `shared/metrics/definitions.py` by `python -m shared.tools.metricsdoc > docs/metrics.md` (a test
keeps it current); `GET /v1/metrics` serves the same text as each metric's `definition`.

Every metric is computed in the organization's own time zone. Money is in minor units (pence, cents) and
kept per currency: never converted or summed across currencies. A ratio with nothing to divide by is null.

## Metrics
"""

_NOTES = """
## Funnel

{funnel}

## Weddings (`GET /v1/weddings`)

The wedding-date axis groups bookings by the date of the wedding rather than the date of the sale.

{weddings}

Seasons: {season}

## When the definitions changed

Migration `20261130030000_booking_state.sql` (issue 16) changed `new_clients` (first event of any type naming
the client, was: client.created events), `bookings`, `booking_value` and `average_booking_value` (each booking
once at its first confirmation with its latest value, was: every booking.confirmed event), `cancellations` and
`net_bookings` (each confirmed booking once, at its first cancellation, was: every booking.cancelled event).
These now read per-booking and per-client state that the migration built from every stored event, so their
history changed with it; `booking_confirmations` keeps the old event count of confirmations. `wedsync-analytics
rebuild` (and erasure) rebuild that state with the rollups.
"""


def _unit(m: registry.Metric) -> str:
    return m.unit + (", per currency" if m.per_currency else "")


def render() -> str:
    """The whole document."""
    lines = [_HEAD, "| metric | unit | breakdowns | definition |", "|---|---|---|---|"]
    for m in sorted(registry.REGISTRY.values(), key=lambda m: m.name):
        dims = ", ".join(sorted(d for d in m.dimensions if d != "currency")) or "-"
        lines.append(f"| `{m.name}` | {_unit(m)} | {dims} | {m.definition} |")
    body = (weddings.__doc__ or "").split('"Weddings"), ', 1)[1].split("API:", 1)[0]
    text = "\n".join(line.strip() for line in body.strip().splitlines())
    season = (seasons.__doc__ or "").split("\n\n", 1)[1].split("API:", 1)[0].strip().replace("\n", " ")
    lines.append(_NOTES.format(funnel=definitions.FUNNEL_COHORT, weddings=text[0].upper() + text[1:], season=season))
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
