"""The report's charts as PNG images (matplotlib's Agg renderer: no display, no JavaScript, readable in every
email client). Amounts are plotted in major units for the axes only; every amount printed as text comes from
exact integer formatting (`text.money`)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from shared.catalog import currencies
from shared.report import content, text

_ROSE = "#b5476b"
_SAGE = "#6b8f71"
_GREY = "#9aa0a6"
_INK = "#2d2a32"
_DPI = 110


@dataclass(frozen=True)
class Chart:
    cid: str  # content id in the email, also the anchor name
    title: str
    png: bytes


def _figure(width: float = 6.0, height: float = 2.6) -> tuple[Figure, Axes]:
    # Figure objects, not pyplot: no global state, so concurrent renders in one process cannot mix.
    fig = Figure(figsize=(width, height), dpi=_DPI)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    ax.spines[["left", "bottom"]].set_color("#cccccc")
    ax.tick_params(colors=_INK, labelsize=8)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    # Fixed metadata: the same numbers give byte-identical images (stable checksums on regeneration).
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def _major(code: str, largest_minor: int) -> FuncFormatter:
    """Axis labels in major units, one style per axis (all 'k', all 'M' or all plain) chosen by its largest value."""
    unit = 10 ** currencies.exponent(code)
    top = abs(largest_minor) / unit
    scale, suffix, digits = (1, "", 0)
    if top >= 10_000_000:
        scale, suffix, digits = 1_000_000, "M", 1
    elif top >= 10_000:
        scale, suffix = 1000, "k"

    def fmt(x: float, _pos: int) -> str:
        return "0" if x == 0 else f"{x / unit / scale:,.{digits}f}{suffix}"

    return FuncFormatter(fmt)


def _legend_above(ax: Axes) -> None:
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, borderaxespad=0.2)


def _ticks(data: content.ReportData) -> list[str]:
    """Month names with the year on the first and on each January; weeks as '2 Nov'. Short enough not to overlap."""
    if data.kind == "monthly":
        return [
            f"{p.period_start:%b}\n{p.period_start:%Y}"
            if i == 0 or p.period_start.month == 1
            else f"{p.period_start:%b}"
            for i, p in enumerate(data.trend)
        ]
    return [f"{p.period_start.day} {p.period_start:%b}" for p in data.trend]


def revenue_trend(data: content.ReportData) -> list[Chart]:
    out = []
    codes = sorted({c for p in data.trend for c in p.net_minor}) or [data.currency]
    for code in codes:
        fig, ax = _figure()
        values = [p.net_minor.get(code, 0) for p in data.trend]
        colors = [_GREY] * (len(values) - 1) + [_ROSE]
        ax.bar(range(len(values)), values, color=colors, width=0.7)
        ax.set_xticks(range(len(values)), _ticks(data), fontsize=7)
        ax.yaxis.set_major_formatter(_major(code, max((abs(v) for v in values), default=0)))
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.set_ylabel(code, fontsize=8, color=_INK)
        ax.axhline(0, color="#cccccc", linewidth=0.8)
        out.append(Chart(f"revenue-{code.lower()}", f"Net revenue per {_unit(data)} ({code})", _png(fig)))
    return out


def _unit(data: content.ReportData) -> str:
    return "week" if data.kind == "weekly" else "month"


def demand_trend(data: content.ReportData) -> Chart:
    fig, ax = _figure()
    x = range(len(data.trend))
    ax.bar([i - 0.18 for i in x], [p.inquiries for p in data.trend], width=0.36, color=_GREY, label="Inquiries")
    ax.bar([i + 0.18 for i in x], [p.bookings for p in data.trend], width=0.36, color=_ROSE, label="Bookings")
    ax.set_xticks(list(x), _ticks(data), fontsize=7)
    ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
    _legend_above(ax)
    return Chart("demand", f"Inquiries and bookings per {_unit(data)}", _png(fig))


def funnel(data: content.ReportData) -> Chart:
    labels = {
        "inquiry": "Inquired",
        "booking": "Booked",
        "deposit_paid": "Deposit paid",
        "balance_paid": "Balance paid",
    }
    stages = data.funnel.stages
    fig, ax = _figure(height=1.9)
    ys = list(range(len(stages)))[::-1]
    counts = [s.clients for s in stages]
    ax.barh(ys, counts, color=[_GREY, _ROSE, _SAGE, _SAGE], height=0.6)
    ax.set_yticks(ys, [labels[s.stage] for s in stages], fontsize=8)
    top = max(counts) or 1
    ax.set_xlim(0, top * 1.25)
    for y, s in zip(ys, stages, strict=True):
        share = f"  {s.clients:,}" + (
            f"  ({s.rate_from_inquiry * 100:.0f}%)" if s.rate_from_inquiry is not None and s.stage != "inquiry" else ""
        )
        ax.text(s.clients, y, share, va="center", fontsize=8, color=_INK)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    return Chart("funnel", "Clients who first inquired in the period, and how far they have come", _png(fig))


def lead_sources(data: content.ReportData, top: int = 8) -> Chart | None:
    rows = [s for s in data.lead_sources if s.bookings or s.inquiries][:top]
    if not rows:
        return None
    fig, ax = _figure(height=0.35 * len(rows) + 0.8)
    ys = list(range(len(rows)))[::-1]
    ax.barh([y + 0.2 for y in ys], [r.inquiries for r in rows], height=0.38, color=_GREY, label="Inquiries")
    ax.barh([y - 0.2 for y in ys], [r.bookings for r in rows], height=0.38, color=_ROSE, label="Bookings")
    ax.set_yticks(ys, [text.name(r.source) for r in rows], fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    _legend_above(ax)
    return Chart("sources", "Lead sources: inquiries and bookings", _png(fig))


def upcoming(data: content.ReportData) -> Chart | None:
    if not data.upcoming:
        return None
    fig, ax = _figure(height=2.3)
    months = data.upcoming
    ax.bar(range(len(months)), [m.weddings for m in months], color=_SAGE, width=0.7)
    ax.set_xticks(
        range(len(months)),
        [
            f"{m.month:%b}\n{m.month:%Y}" if i == 0 or m.month.month == 1 else f"{m.month:%b}"
            for i, m in enumerate(months)
        ],
        fontsize=7,
    )
    ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.set_ylim(0, max(m.weddings for m in months) * 1.15 + 0.5)  # room for the labels above the bars
    for i, m in enumerate(months):
        ax.text(i, m.weddings, str(m.weddings), ha="center", va="bottom", fontsize=7, color=_INK)
    return Chart("upcoming", "Upcoming weddings per month", _png(fig))


def all_charts(data: content.ReportData) -> list[Chart]:
    charts = [*revenue_trend(data), demand_trend(data), funnel(data)]
    for maybe in (lead_sources(data), upcoming(data)):
        if maybe is not None:
            charts.append(maybe)
    return charts
