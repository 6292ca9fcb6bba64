"""Renders a report three ways: an email-ready HTML page (charts as PNG; `cid:` references for the email,
`data:` URIs for the stored page, so it opens on its own), a PDF of the same blocks (reportlab: pure pip),
and a CSV of every number (money as exact decimals with its currency), so it opens in a spreadsheet."""

from __future__ import annotations

import base64
import csv
import html
import io
from dataclasses import dataclass
from typing import Literal

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from shared.report import charts, content, layout, text

CONTENT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}
Format = Literal["html", "pdf", "csv"]
_ROSE = "#b5476b"
_INK = "#2d2a32"
_MUTED = "#6b6570"


@dataclass(frozen=True)
class Rendered:
    files: dict[str, bytes]  # format -> bytes (the stored files)
    email_html: str  # the same page with cid: images
    charts: list[charts.Chart]  # the images the email attaches inline
    title: str


def title(data: content.ReportData) -> str:
    what = "Weekly" if data.kind == "weekly" else "Monthly"
    return f"{what} report: {data.period_label}"


# ----- HTML ---------------------------------------------------------------------------------------------------


def _html(data: content.ReportData, blocks: list[layout.Block], image: str) -> str:
    e = html.escape
    parts = [
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(title(data))}</title></head>
<body style="margin:0;padding:0;background:#f6f3f4;font-family:Helvetica,Arial,sans-serif;color:{_INK}">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f3f4">
<tr><td align="center">
<table role="presentation" width="680" cellpadding="0" cellspacing="0"
 style="max-width:680px;background:#ffffff;margin:16px 0">
<tr><td style="padding:24px 28px 8px 28px">
<div style="font-size:13px;color:{_MUTED}">{e(data.organization_name)}</div>
<h1 style="margin:4px 0 0 0;font-size:22px;color:{_ROSE}">{e(title(data))}</h1>
<div style="font-size:12px;color:{_MUTED}">Times in {e(data.timezone)}</div></td></tr>"""
    ]
    for block in blocks:
        parts.append('<tr><td style="padding:6px 28px">')
        if isinstance(block, layout.Heading):
            parts.append(
                f'<h2 style="font-size:17px;margin:18px 0 4px 0;border-bottom:2px solid {_ROSE};'
                f'padding-bottom:4px">{e(block.text)}</h2>'
            )
        elif isinstance(block, layout.Note):
            parts.append(f'<p style="font-size:12px;color:{_MUTED};margin:4px 0">{e(block.text)}</p>')
        elif isinstance(block, layout.Cards):
            cells = []
            for i, (label, value, prev, year) in enumerate(block.cards):
                if i and i % 3 == 0:
                    cells.append("</tr><tr>")
                cells.append(
                    f'<td width="33%" valign="top" style="padding:8px;border:1px solid #eee">'
                    f'<div style="font-size:12px;color:{_MUTED}">{e(label)}</div>'
                    f'<div style="font-size:20px;font-weight:bold;margin:2px 0">{e(value)}</div>'
                    f'<div style="font-size:11px;color:{_MUTED}">{e(prev)} vs previous · '
                    f"{e(year)} vs last year</div></td>"
                )
            parts.append(
                '<table role="presentation" width="100%" cellspacing="0" cellpadding="0"><tr>'
                + "".join(cells)
                + "</tr></table>"
            )
        elif isinstance(block, layout.Table):

            def cell(i: int, v: str, tag: str = "td", numeric: set[int] = block.numeric) -> str:
                align = "right" if i in numeric else "left"
                weight = "bold" if tag == "th" else "normal"
                return (
                    f'<{tag} style="text-align:{align};padding:4px 6px;border-bottom:1px solid #eee;'
                    f'font-weight:{weight}">{e(v)}</{tag}>'
                )

            head = "".join(cell(i, c, "th") for i, c in enumerate(block.columns))
            body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in block.rows)
            parts.append(
                f'<table width="100%" cellspacing="0" cellpadding="0" style="font-size:12px;'
                f'border-collapse:collapse"><tr>{head}</tr>{body}</table>'
            )
        elif isinstance(block, layout.Picture):
            src = (
                f"cid:{block.chart.cid}"
                if image == "cid"
                else "data:image/png;base64," + base64.b64encode(block.chart.png).decode()
            )
            parts.append(
                '<div style="font-size:13px;font-weight:bold;margin:8px 0 2px 0">'
                f'{e(block.chart.title)}</div><img src="{src}" alt="{e(block.chart.title)}" width="620" '
                f'style="display:block;width:100%;max-width:620px;height:auto">'
            )
        parts.append("</td></tr>")
    parts.append(
        f'<tr><td style="padding:16px 28px 24px 28px;font-size:11px;color:{_MUTED}">Generated by WedSync '
        "Analytics from the same figures as your dashboard. The attached CSV holds every number."
        "</td></tr></table></td></tr></table></body></html>"
    )
    return "\n".join(parts)


# ----- PDF ----------------------------------------------------------------------------------------------------


def _pdf(data: content.ReportData, blocks: list[layout.Block]) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=title(data),
        author="WedSync Analytics",
        subject=data.organization_name,
        creator="WedSync Analytics",
        invariant=True,
    )  # no timestamp or random id: same numbers, same bytes, same sha256
    styles = getSampleStyleSheet()
    h1 = ParagraphStyle("h1", parent=styles["Heading1"], textColor=colors.HexColor(_ROSE), fontSize=18, spaceAfter=2)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontSize=13, spaceBefore=10, spaceAfter=4)
    small = ParagraphStyle("small", parent=styles["Normal"], fontSize=8, textColor=colors.HexColor(_MUTED), leading=10)
    cell = ParagraphStyle("cell", parent=styles["Normal"], fontSize=8, leading=10)
    cell_r = ParagraphStyle("cellr", parent=cell, alignment=TA_RIGHT)
    width = A4[0] - 32 * mm
    e = html.escape
    story: list[object] = [
        Paragraph(e(data.organization_name), small),
        Paragraph(e(title(data)), h1),
        Paragraph(f"Times in {e(data.timezone)}", small),
        Spacer(1, 4 * mm),
    ]
    pending_heading: Paragraph | None = None
    groups: list[list[object]] = []  # each kept on one page: a heading with what follows, a note with what precedes
    for block in blocks:
        flow: list[object] = []
        if isinstance(block, layout.Heading):
            pending_heading = Paragraph(e(block.text), h2)
            continue
        if isinstance(block, layout.Note):
            flow = [Paragraph(e(block.text), small), Spacer(1, 2 * mm)]
            if pending_heading is None and groups:
                groups[-1].extend(flow)
                continue
        elif isinstance(block, layout.Cards):
            cells = [
                [
                    Paragraph(
                        f'<font size="8" color="{_MUTED}">{e(label)}</font><br/>'
                        f'<font size="13"><b>{e(value)}</b></font><br/>'
                        f'<font size="7" color="{_MUTED}">{e(prev)} vs previous, {e(year)} vs last year'
                        "</font>",
                        ParagraphStyle("card", parent=cell, leading=15),
                    )
                    for label, value, prev, year in block.cards[i : i + 3]
                ]
                for i in range(0, len(block.cards), 3)
            ]
            for row in cells:
                row.extend([""] * (3 - len(row)))
            t = PdfTable(cells, colWidths=[width / 3] * 3)
            t.setStyle(
                TableStyle(
                    [
                        ("BOX", (0, 0), (-1, -1), 0.5, colors.HexColor("#dddddd")),
                        ("INNERGRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#dddddd")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("TOPPADDING", (0, 0), (-1, -1), 4),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                    ]
                )
            )
            flow = [t, Spacer(1, 2 * mm)]
        elif isinstance(block, layout.Table):

            def para(i: int, v: str, bold: bool = False, numeric: set[int] = block.numeric) -> Paragraph:
                s = e(v)
                return Paragraph(f"<b>{s}</b>" if bold else s, cell_r if i in numeric else cell)

            rows = [[para(i, c, True) for i, c in enumerate(block.columns)]]
            rows += [[para(i, v) for i, v in enumerate(r)] for r in block.rows]
            first = 0.30 if len(block.columns) > 3 else 0.5
            rest = (1 - first) / max(len(block.columns) - 1, 1)
            t = PdfTable(rows, colWidths=[width * first] + [width * rest] * (len(block.columns) - 1), repeatRows=1)
            t.setStyle(
                TableStyle(
                    [
                        ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#e5e5e5")),
                        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor(_ROSE)),
                        ("TOPPADDING", (0, 0), (-1, -1), 2),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                    ]
                )
            )
            flow = [t, Spacer(1, 3 * mm)]
        elif isinstance(block, layout.Picture):
            img = Image(io.BytesIO(block.chart.png))
            scale = min(1.0, (width * 0.92) / img.imageWidth)
            img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
            flow = [Paragraph(f"<b>{e(block.chart.title)}</b>", cell), img, Spacer(1, 2 * mm)]
        if pending_heading is not None:
            flow.insert(0, pending_heading)
            pending_heading = None
        groups.append(flow)
    story.extend(KeepTogether(g) for g in groups)
    story.append(Paragraph("Generated by WedSync Analytics from the same figures as your dashboard.", small))
    doc.build(story)
    return buf.getvalue()


# ----- CSV ----------------------------------------------------------------------------------------------------


def _csv(data: content.ReportData) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["section", "item", "period", "currency", "unit", "value", "previous_period", "same_period_last_year"])
    period = f"{data.period_start.isoformat()}/{data.period_end.isoformat()}"

    def figures(section: str, figs: list[content.Figure]) -> None:
        for f in figs:
            w.writerow(
                [
                    section,
                    f.label,
                    period,
                    f.currency or "",
                    f.unit,
                    text.raw(f, f.value),
                    text.raw(f, f.previous),
                    text.raw(f, f.last_year),
                ]
            )

    def money(section: str, item: str, minor: int, code: str, when: str = period) -> None:
        w.writerow([section, item, when, code, "money", text.decimal(minor, code), "", ""])

    def count(section: str, item: str, n: int | float | None, unit: str = "count", when: str = period) -> None:
        w.writerow(
            [section, item, when, "", unit, "" if n is None else (f"{n:.6g}" if isinstance(n, float) else n), "", ""]
        )

    figures("headline", data.headline)
    for r in data.revenue:
        money("revenue", "received", r.gross_minor, r.currency)
        money("revenue", "refunded", r.refunds_minor, r.currency)
        money("revenue", "net", r.net_minor, r.currency)
        count("revenue", f"payments ({r.currency})", r.payments)
        for kind, v in r.by_kind_minor.items():
            money("revenue", f"received: {text.name(kind)}", v, r.currency)
    if data.home_revenue is not None:
        h = data.home_revenue
        money("revenue", f"received, all currencies in {h.currency} ({h.source})", h.gross_minor, h.currency)
        money("revenue", f"refunded, all currencies in {h.currency} ({h.source})", h.refunds_minor, h.currency)
        money("revenue", f"net, all currencies in {h.currency} ({h.source})", h.net_minor, h.currency)
    for p in data.trend:
        when = p.period_start.isoformat()
        count("trend", "inquiries", p.inquiries, when=when)
        count("trend", "bookings", p.bookings, when=when)
        for code, v in sorted(p.net_minor.items()):
            money("trend", "net revenue", v, code, when=when)
    for b in data.bookings:
        count("bookings", f"booked ({b.currency})", b.bookings)
        count("bookings", f"cancelled since ({b.currency})", b.cancelled)
        count("bookings", f"still booked ({b.currency})", b.net_bookings)
        money("bookings", "value booked", b.value_minor, b.currency)
        money("bookings", "value kept", b.net_value_minor, b.currency)
    for s in data.funnel.stages:
        count("funnel", f"{s.stage} clients", s.clients)
        count("funnel", f"{s.stage} rate from inquiry", s.rate_from_inquiry, "ratio")
    count("funnel", "median days to book", data.funnel.median_days_to_book, "days")
    count("funnel", "mean days to book", data.funnel.mean_days_to_book, "days")
    for src in data.lead_sources:
        name = text.name(src.source)
        count("lead_sources", f"{name}: inquiries", src.inquiries)
        count("lead_sources", f"{name}: bookings", src.bookings)
        for code, v in sorted(src.booking_value_minor.items()):
            money("lead_sources", f"{name}: value booked", v, code)
    for u in data.upcoming:
        when = f"{u.month:%Y-%m}"
        count("upcoming_weddings", "weddings", u.weddings, when=when)
        for code, v in sorted(u.value_minor.items()):
            money("upcoming_weddings", "booked value", v, code, when=when)
    for measure, lt in data.lead_times.items():
        count("lead_times", f"{measure} bookings", lt.count)
        count("lead_times", f"{measure} median", lt.p50_days, "days")
        count("lead_times", f"{measure} p90", lt.p90_days, "days")
        count("lead_times", f"{measure} mean", lt.mean_days, "days")
    figures("satisfaction", data.satisfaction)
    figures("engagement", data.engagement)
    q = data.quality
    for item in ("received", "stored", "duplicates", "rejected", "refused", "dead_letters"):
        count("data_quality", item, getattr(q, item))
    count("data_quality", "views stale seconds", q.stale_seconds, "seconds")
    return out.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheets read UTF-8


def render(data: content.ReportData) -> Rendered:
    drawn = charts.all_charts(data)
    blocks = layout.blocks(data, drawn)
    stored_html = _html(data, blocks, "data")
    return Rendered(
        files={"html": stored_html.encode("utf-8"), "pdf": _pdf(data, blocks), "csv": _csv(data)},
        email_html=_html(data, blocks, "cid"),
        charts=drawn,
        title=title(data),
    )
