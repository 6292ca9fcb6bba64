"""The report as a list of blocks (headings, headline cards, tables, charts, notes), written once and drawn
by both the HTML and the PDF renderers, so the email, the stored page and the PDF always say the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from shared.metrics import home
from shared.report import charts, content, text


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class Cards:
    """Headline numbers: label, value, change vs previous period, change vs last year."""

    cards: list[tuple[str, str, str, str]]


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)  # right-aligned columns


@dataclass(frozen=True)
class Picture:
    chart: charts.Chart


Block = Heading | Note | Cards | Table | Picture


def _figure_rows(figs: list[content.Figure], data: content.ReportData) -> Table:
    # Features the business does not use (nothing in any of the three periods) are left out; the CSV keeps them.
    figs = [f for f in figs if any(v not in (0, None) for v in (f.value, f.previous, f.last_year))] or figs[:1]
    return Table(
        ["", "This period", "Previous", "Change", "Last year", "Change"],
        [
            [
                f.label + (f" ({f.currency})" if f.currency else ""),
                text.value(f),
                text.value(f, f.previous, use=True),
                text.change(f, f.previous),
                text.value(f, f.last_year, use=True),
                text.change(f, f.last_year),
            ]
            for f in figs
        ],
        numeric={1, 2, 3, 4, 5},
    )


def blocks(data: content.ReportData, drawn: list[charts.Chart]) -> list[Block]:
    by_id = {c.cid: c for c in drawn}
    out: list[Block] = []
    cards = [
        (
            f.label
            + (f" ({f.currency})" if f.currency and len({g.currency for g in data.headline if g.currency}) > 1 else ""),
            text.value(f),
            text.change(f, f.previous),
            text.change(f, f.last_year),
        )
        for f in data.headline
    ]
    out.append(Cards(cards))
    out.append(
        Note(
            f"Changes compare with the previous {'week' if data.kind == 'weekly' else 'month'} "
            f"({data.previous_label}) and the same period last year ({data.last_year_label}); "
            "a dash means there is no data to compare with."
        )
    )

    out.append(Heading("Revenue"))
    if data.revenue:
        out.append(
            Table(
                ["Currency", "Payments", "Received", "Refunded", "Net"],
                [
                    [
                        r.currency,
                        f"{r.payments:,}",
                        text.money(r.gross_minor, r.currency),
                        text.money(r.refunds_minor, r.currency),
                        text.money(r.net_minor, r.currency),
                    ]
                    for r in data.revenue
                ],
                numeric={1, 2, 3, 4},
            )
        )
        if data.home_revenue is not None:
            out.extend(_home_total(data.home_revenue))
        kinds = [[text.name(k), text.money(v, r.currency)] for r in data.revenue for k, v in r.by_kind_minor.items()]
        if kinds:
            out.append(Table(["Received by payment type", "Amount"], kinds, numeric={1}))
    else:
        out.append(Note("No payments in this period."))
    out.extend(Picture(c) for c in drawn if c.cid.startswith("revenue-"))

    out.append(Heading("Bookings and conversion"))
    out.append(Picture(by_id["demand"]))
    if data.bookings:
        out.append(
            Table(
                ["Currency", "Booked", "Cancelled since", "Still booked", "Value booked", "Value kept"],
                [
                    [
                        b.currency,
                        f"{b.bookings:,}",
                        f"{b.cancelled:,}",
                        f"{b.net_bookings:,}",
                        text.money(b.value_minor, b.currency),
                        text.money(b.net_value_minor, b.currency),
                    ]
                    for b in data.bookings
                ],
                numeric={1, 2, 3, 4, 5},
            )
        )
    out.append(Picture(by_id["funnel"]))
    f = data.funnel
    if f.median_days_to_book is not None:
        out.append(
            Note(
                f"Those who booked took {f.median_days_to_book:.0f} days from inquiry to booking "
                f"(median; average {f.mean_days_to_book or 0:.0f} days)."
            )
        )

    out.append(Heading("Where your clients come from"))
    if data.lead_sources:
        out.append(
            Table(
                ["Lead source", "Inquiries", "Bookings", "Value booked"],
                [
                    [
                        text.name(s.source),
                        f"{s.inquiries:,}",
                        f"{s.bookings:,}",
                        ", ".join(text.money(v, c) for c, v in sorted(s.booking_value_minor.items())) or text.NONE,
                    ]
                    for s in data.lead_sources
                ],
                numeric={1, 2, 3},
            )
        )
        if "sources" in by_id:
            out.append(Picture(by_id["sources"]))
    else:
        out.append(Note("No inquiries or bookings in this period."))

    out.append(Heading("Upcoming weddings"))
    if data.upcoming:
        out.append(Picture(by_id["upcoming"]))
        out.append(
            Table(
                ["Month", "Weddings", "Booked value"],
                [
                    [
                        f"{u.month:%B %Y}",
                        f"{u.weddings:,}",
                        ", ".join(text.money(v, c) for c, v in sorted(u.value_minor.items())) or text.NONE,
                    ]
                    for u in data.upcoming
                ],
                numeric={1, 2},
            )
        )
    else:
        out.append(Note("No weddings booked in the next twelve months."))
    out.extend(Note(line) for line in data.season_pipeline)  # by wedding date: the season pipeline

    out.append(Heading("Lead times"))
    lt_rows = []
    for measure, label in (("inquiry_to_booking", "Inquiry to booking"), ("booking_to_wedding", "Booking to wedding")):
        lt = data.lead_times[measure]
        lt_rows.append(
            [
                label,
                f"{lt.count:,}",
                text.NONE if lt.p50_days is None else f"{lt.p50_days} days",
                text.NONE if lt.p90_days is None else f"{lt.p90_days} days",
                text.NONE if lt.mean_days is None else f"{lt.mean_days:.0f} days",
            ]
        )
    out.append(Table(["", "Bookings", "Typical (median)", "9 in 10 within", "Average"], lt_rows, numeric={1, 2, 3, 4}))
    out.append(Note(f"Lead times cover {data.lead_times_label}."))

    out.append(Heading("Client satisfaction"))
    out.append(_figure_rows(data.satisfaction, data))
    out.append(Heading("Emails, notifications and journeys"))
    out.append(_figure_rows(data.engagement, data))

    q = data.quality
    fresh = (
        "up to date"
        if not q.views_pending
        else f"some figures were still updating ({timedelta(seconds=round(q.stale_seconds))} behind)"
    )
    out.append(Heading("Data quality"))
    out.append(
        Note(
            f"{q.received:,} events received and {q.stored:,} stored; {q.rejected:,} rejected as invalid, "
            f"{q.duplicates:,} duplicates ignored, {q.dead_letters:,} new items kept for review. "
            f"Booking and funnel figures: {fresh}."
        )
    )
    return out


def _home_total(h: home.HomeRevenue) -> list[Block]:
    """The revenue in the home currency, below the per-currency table: the rate source and what was left out."""
    blocks: list[Block] = [
        Table(
            [f"Total in {h.currency}", "Received", "Refunded", "Net"],
            [
                [
                    f"all currencies at {h.source}s",
                    text.money(h.gross_minor, h.currency),
                    text.money(h.refunds_minor, h.currency),
                    text.money(h.net_minor, h.currency),
                ]
            ],
            numeric={1, 2, 3},
        ),
        Note(
            f"Converted into {h.currency}: each payment at the {h.source} of its day, each refund at the rate of"
            " the day it was refunded (weekends and holidays: the last working day's rate)."
        ),
    ]
    for n in h.not_convertible:
        blocks.append(Note(f"Not in the {h.currency} total: {text.money(n.net_minor, n.currency)} net ({n.reason})."))
    return blocks
