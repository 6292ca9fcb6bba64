// The business panels: revenue per currency, the funnel, lead sources, seasonality and the weddings ahead.
// Every figure is an answer of the API; the page only lines answers up side by side.
import {$, bars, columns, csvLinks, el, empty, legend, numbers, table} from "./draw.js";
import {count, money, month, percent} from "./format.js";
import {bookingsWindow, twelveMonths} from "./period.js";

const BREAKDOWN = "/v1/metrics/breakdown";
const STAGES = {inquiry: "Inquired", booking: "Booked", deposit_paid: "Deposit paid", balance_paid: "Balance paid"};

export async function revenue(ctx) {
  const answer = await ctx.fetch("/v1/revenue", ctx.range);
  csvLinks("revenue-csv", [{path: "/v1/revenue", params: ctx.range}]);
  $("revenue").replaceChildren(answer.currencies.length
    ? table("Revenue per currency", ["Currency", "Gross", "Refunds", "Net", "Payments"], answer.currencies.map((c) =>
      [c.currency, money(c.gross_minor, c.currency), money(c.refunds_minor, c.currency), money(c.net_minor, c.currency), count(c.payments)]))
    : empty("No payments in this period. Payments arrive as payment.succeeded events, or from Stripe through its webhook (wedsync-analytics sources add stripe prints the URL)."));
}

export async function funnel(ctx) {
  const answer = await ctx.fetch("/v1/funnel", ctx.range);
  csvLinks("funnel-csv", [{path: "/v1/funnel", params: ctx.range}]);
  const stages = answer.funnel.stages;
  const days = answer.funnel.median_days_to_book;
  $("funnel").replaceChildren(
    bars("Clients at each stage", stages.map((s) => ({name: STAGES[s.stage] || s.stage, value: s.clients, text: `${count(s.clients)} (${percent(s.rate_from_inquiry)})`}))),
    el("p", {}, `Clients whose first inquiry was in this period and how far they got. Inquiry to booking: ${percent(answer.funnel.conversion_rate)}` +
      (days === null ? "." : `; median ${Math.round(days)} days to book.`)),
    numbers("Funnel stages", ["Stage", "Clients", "From inquiry", "From the stage before"],
      stages.map((s) => [STAGES[s.stage] || s.stage, count(s.clients), percent(s.rate_from_inquiry), percent(s.rate_from_previous)])));
}

const keyed = (rows) => new Map(rows.map((r) => [r.key, r.value]));

export async function leads(ctx) {
  const ask = (metric) => ctx.fetch(BREAKDOWN, {...ctx.range, metric, by: "lead_source"});
  const [inquiries, bookings, value] = await Promise.all([ask("inquiries"), ask("bookings"), ask("booking_value")]);
  csvLinks("leads-csv", ["inquiries", "bookings", "booking_value"].map((metric) =>
    ({label: `${metric.replace("_", " ")} CSV`, path: BREAKDOWN, params: {...ctx.range, metric, by: "lead_source"}})));
  const booked = keyed(bookings.rows);
  const sources = [...new Set([...inquiries.rows.map((r) => r.key), ...bookings.rows.map((r) => r.key)])];
  if (!sources.length) {
    $("leads").replaceChildren(empty("No inquiries in this period. Say where each came from with data.lead_source on inquiry.received (instagram, referral, website…)."));
    return;
  }
  const asked = keyed(inquiries.rows);
  const worth = (source) => value.rows.filter((r) => r.key === source).map((r) => money(r.value, r.currency)).join(" + ") || "–";
  const name = (source) => source || "(not said)";
  const conversion = (source) => (asked.get(source) ? percent((booked.get(source) || 0) / asked.get(source)) : "–");
  $("leads").replaceChildren(
    bars("Inquiries per lead source", sources.map((s) => ({name: name(s), value: asked.get(s) || 0, text: `${count(asked.get(s) || 0)} · ${conversion(s)} booked`}))),
    numbers("Lead sources", ["Source", "Inquiries", "Bookings", "Booked / inquiries", "Booking value"],
      sources.map((s) => [name(s), count(asked.get(s) || 0), count(booked.get(s) || 0), conversion(s), worth(s)])));
}

// Seasonality and the weddings ahead both read weddings per wedding month, from bookings of the last 3 years.
const weddings = (ctx) => ctx.fetch(BREAKDOWN, {...bookingsWindow(ctx.org), metric: "weddings_booked", by: "wedding_month"});

export async function seasonality(ctx) {
  const months = twelveMonths(ctx.org);
  const [inquiries, booked] = await Promise.all([
    ctx.fetch("/v1/metrics/timeseries", {...months, metric: "inquiries", interval: "month"}), weddings(ctx)]);
  csvLinks("season-csv", [
    {label: "Inquiries CSV", path: "/v1/metrics/timeseries", params: {...months, metric: "inquiries", interval: "month"}},
    {label: "Weddings CSV", path: BREAKDOWN, params: {...bookingsWindow(ctx.org), metric: "weddings_booked", by: "wedding_month"}}]);
  const points = inquiries.series[0] ? inquiries.series[0].points : [];
  const keys = points.map((p) => p.start.slice(0, 7));
  const perMonth = keyed(booked.rows);
  const a = points.map((p) => p.value || 0);
  const b = keys.map((k) => perMonth.get(k) || 0);
  if (!a.some(Boolean) && !b.some(Boolean)) {
    $("season").replaceChildren(empty("No inquiries or weddings in the last 12 months yet. Weddings are counted by the wedding_date of booking.confirmed events."));
    return;
  }
  $("season").replaceChildren(
    el("p", {class: "muted"}, "The last 12 months: inquiries received in each month, and weddings taking place in it."),
    columns(`Inquiries and weddings per month over the last 12 months; the table lists each month.`, keys.map((k) => month(k).split(" ")[0]),
      [{cls: "c1", values: a}, {cls: "c2", values: b}]),
    legend([["k1", "Inquiries"], ["k2", "Weddings"]]),
    numbers("Seasonality", ["Month", "Inquiries", "Weddings"], keys.map((k, i) => [month(k), count(a[i]), count(b[i])])));
}

export async function upcoming(ctx) {
  const booked = await weddings(ctx);
  const now = ctx.org.today.slice(0, 7);
  const ahead = booked.rows.filter((r) => r.key >= now).sort((x, y) => (x.key < y.key ? -1 : 1)).slice(0, 12);
  csvLinks("upcoming-csv", [{path: BREAKDOWN, params: {...bookingsWindow(ctx.org), metric: "weddings_booked", by: "wedding_month"}}]);
  if (!ahead.length) {
    $("upcoming").replaceChildren(empty("No weddings booked from this month on. A booking.confirmed event with data.wedding_date puts its wedding here."));
    return;
  }
  const total = ahead.reduce((s, r) => s + (r.value || 0), 0);
  $("upcoming").replaceChildren(
    el("p", {class: "big"}, `${count(total)} weddings in the next ${ahead.length === 12 ? "12 booked months" : `${ahead.length} booked months`}`),
    bars("Weddings per month ahead", ahead.map((r) => ({name: month(r.key), value: r.value, text: count(r.value), cls: "alt"}))),
    numbers("Upcoming weddings", ["Month", "Weddings"], ahead.map((r) => [month(r.key), count(r.value)])),
    el("p", {class: "muted"}, "Bookings confirmed in the last three years, by wedding month (cancellations are not subtracted)."));
}
