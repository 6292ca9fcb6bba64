// The headline cards (each against the previous period and the same period last year) and inquiries and
// bookings over time. The previous period is the API's own comparison; last year is the same overview asked
// again for the period 364 days earlier (weekdays aligned).
import {$, csvLinks, el, legend, lines, numbers} from "./draw.js";
import {change, count, day, percent, show} from "./format.js";
import {lastYear} from "./period.js";

export const OVERVIEW = "/v1/metrics/overview";
const CARDS = ["inquiries", "bookings", "revenue_net", "weddings_booked", "new_clients", "average_booking_value"];
const LABELS = {inquiries: "Inquiries", bookings: "Bookings", revenue_net: "Net revenue", weddings_booked: "Weddings booked",
  new_clients: "New clients", average_booking_value: "Average booking"};
const key = (m) => `${m.metric}:${m.currency || ""}`;

function against(unit, value, other, currency, what) {
  if (value === null || value === undefined || other === null || other === undefined) return el("span", {class: "flat"}, `none to compare ${what === "last year" ? "last year" : "before"}`);
  const delta = value - other;
  const ratio = other ? ` (${delta > 0 ? "+" : ""}${percent(delta / other)})` : "";
  return el("span", {class: delta > 0 ? "up" : delta < 0 ? "down" : "flat"}, `${change(unit, delta, currency)}${ratio} vs ${what}`);
}

// Net revenue in the home currency (the overview's home_currency, at ECB rates of each day), when the money is
// in more than one currency: with one currency, the home figure would only repeat its card.
function homeCard(now, before) {
  const h = now.home_currency;
  if (!h) return null;
  const currencies = new Set(now.metrics.filter((m) => m.metric === "revenue_net" && m.currency).map((m) => m.currency));
  if (!h.not_convertible.length && [...currencies].every((c) => c === h.currency)) return null;
  const value = h.values.revenue_net;
  const previous = now.home_currency_previous ? now.home_currency_previous.values.revenue_net : null;
  const year = before.home_currency ? before.home_currency.values.revenue_net : null;
  return el("li", {class: "card", "data-metric": `home:revenue_net:${h.currency}`, "data-value": value, "data-previous": previous, "data-last-year": year},
    el("span", {class: "label"}, `All net revenue in ${h.currency}`),
    el("span", {class: "value"}, show("money", value, h.currency)),
    el("span", {class: "vs vs-previous"}, against("money", value, previous, h.currency, "previous period")),
    el("span", {class: "vs vs-last-year"}, against("money", value, year, h.currency, "last year")),
    el("span", {class: "vs"}, h.not_convertible.length
      ? `At ECB rates; without ${h.not_convertible.map((n) => n.currency).join(", ")} (no rate: see Revenue)` : "At ECB reference rates of each day"));
}

export async function cards(ctx) {
  const [now, before] = await Promise.all([
    ctx.fetch(OVERVIEW, ctx.range),
    ctx.fetch(OVERVIEW, lastYear(ctx.range)).catch(() => ({metrics: []})), // before 2000: nothing to compare
  ]);
  const year = new Map(before.metrics.map((m) => [key(m), m.value]));
  const shown = now.metrics.filter((m) => CARDS.includes(m.metric)).sort((a, b) => CARDS.indexOf(a.metric) - CARDS.indexOf(b.metric));
  $("cards").replaceChildren(...shown.map((m) => el("li", {class: "card", "data-metric": m.metric + (m.currency ? `:${m.currency}` : ""),
    "data-value": m.value, "data-previous": m.previous, "data-last-year": year.get(key(m))},
  el("span", {class: "label"}, `${LABELS[m.metric]}${m.currency ? ` (${m.currency})` : ""}`),
  el("span", {class: "value"}, show(m.unit, m.value, m.currency)),
  el("span", {class: "vs vs-previous"}, against(m.unit, m.value, m.previous, m.currency, "previous period")),
  el("span", {class: "vs vs-last-year"}, against(m.unit, m.value, year.get(key(m)), m.currency, "last year")))));
  const home = homeCard(now, before);
  if (home) $("cards").append(home);
  csvLinks("cards-csv", [{label: "Overview CSV", path: OVERVIEW, params: ctx.range}]);
  document.body.dataset.numbers = "shown";
  if (!window.wedsyncFirstNumbers) window.wedsyncFirstNumbers = performance.now(); // read by bench/webpage.py
  return now;
}

export async function trend(ctx) {
  const ask = (metric) => ctx.fetch("/v1/metrics/timeseries", {...ctx.range, metric, interval: ctx.interval});
  const [inquiries, bookings] = await Promise.all([ask("inquiries"), ask("bookings")]);
  const a = inquiries.series[0] ? inquiries.series[0].points : [];
  const b = bookings.series[0] ? bookings.series[0].points : [];
  const starts = a.map((p) => day(p.start.slice(0, 10)));
  const total = (ps) => ps.reduce((s, p) => s + (p.value || 0), 0);
  const label = `Inquiries and bookings per ${ctx.interval}: ${count(total(a))} inquiries and ${count(total(b))} bookings in ${a.length} ${ctx.interval}s; the table lists each.`;
  $("trend").replaceChildren(
    lines(label, starts, [{cls: "s1", fill: true, values: a.map((p) => p.value)}, {cls: "s2", values: b.map((p) => p.value)}]),
    legend([["k1", "Inquiries"], ["k2", "Bookings (dashed)"]]),
    numbers("Inquiries and bookings", [ctx.interval[0].toUpperCase() + ctx.interval.slice(1), "Inquiries", "Bookings"],
      a.map((p, i) => [p.start.slice(0, 10), count(p.value || 0), count((b[i] && b[i].value) || 0)])));
  csvLinks("trend-csv", [
    {label: "Inquiries CSV", path: "/v1/metrics/timeseries", params: {...ctx.range, metric: "inquiries", interval: ctx.interval}},
    {label: "Bookings CSV", path: "/v1/metrics/timeseries", params: {...ctx.range, metric: "bookings", interval: ctx.interval}},
  ]);
  return total(a) + total(b);
}
