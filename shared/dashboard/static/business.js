// The business panels: revenue per currency, the funnel, lead sources, seasonality and the weddings ahead.
// Every figure is an answer of the API; the page only lines answers up side by side.
import {$, bars, columns, csvLinks, el, empty, legend, numbers, table} from "./draw.js";
import {count, day, money, month, percent, signed} from "./format.js";
import {bookingsWindow, monthsAhead, twelveMonths} from "./period.js";

const BREAKDOWN = "/v1/metrics/breakdown";
const STAGES = {inquiry: "Inquired", booking: "Booked", deposit_paid: "Deposit paid", balance_paid: "Balance paid"};

export async function revenue(ctx) {
  const answer = await ctx.fetch("/v1/revenue", ctx.range);
  csvLinks("revenue-csv", [{path: "/v1/revenue", params: ctx.range}]);
  if (!answer.currencies.length) {
    $("revenue").replaceChildren(empty("No payments in this period. Payments arrive as payment.succeeded events, or from Stripe through its webhook (wedsync-analytics sources add stripe prints the URL)."));
    return;
  }
  $("revenue").replaceChildren(
    table("Revenue per currency", ["Currency", "Gross", "Refunds", "Net", "Payments"], answer.currencies.map((c) =>
      [c.currency, money(c.gross_minor, c.currency), money(c.refunds_minor, c.currency), money(c.net_minor, c.currency), count(c.payments)])),
    ...home(answer.home_currency));
}

// The period's money in the organization's home currency, each payment and refund at the ECB rate of its local
// day (the API converts; the page formats by the home currency's exponent), and what could not be converted.
function home(h) {
  if (!h) return [];
  const c = h.currency;
  const out = [el("p", {class: "home", id: "revenue-home", "data-currency": c, "data-gross": h.gross_minor, "data-refunds": h.refunds_minor, "data-net": h.net_minor},
    el("strong", {}, `In ${c} (home currency): net ${money(h.net_minor, c)}`),
    ` (gross ${money(h.gross_minor, c)}, refunds ${money(h.refunds_minor, c)}), at ECB reference rates of each day` +
    (h.rates.length ? ` (${count(h.rates.length)} daily rates).` : "."))];
  if (h.not_convertible.length) out.push(el("p", {class: "muted", id: "revenue-unconverted"}, "Not in this total: ",
    ...h.not_convertible.map((n, i) => el("span", {"data-currency": n.currency},
      `${i ? "; " : ""}${money(n.net_minor, n.currency)} net (${money(n.gross_minor, n.currency)} gross) in ${n.currency} between ${day(n.first_day)} and ${day(n.last_day)}: ${n.reason}`))));
  return out;
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

// The weddings ahead, on the API's wedding-date axis (GET /v1/weddings): weddings per wedding month with booked,
// paid and outstanding money per currency (cancellations already netted), the balances due in the next 30 days
// and each season's pace against the season before. Amounts are never added across currencies.
const DUE_WITHIN = 30;
const perCurrency = (rows, pick) => {
  const sums = new Map();
  rows.forEach((r) => sums.set(r.currency, (sums.get(r.currency) || 0) + pick(r)));
  return [...sums].map(([c, v]) => money(v, c)).join(" + ") || "–";
};

export async function upcoming(ctx) {
  const params = {...monthsAhead(ctx.org), by: "month", due_within: DUE_WITHIN};
  const answer = await ctx.fetch("/v1/weddings", params);
  csvLinks("upcoming-csv", [{label: "Weddings CSV", path: "/v1/weddings", params}]);
  const periods = answer.periods.filter((p) => p.weddings || p.booked_minor || p.paid_minor || p.cancelled);
  const balances = answer.due.balances.filter((b) => b.weddings);
  if (!periods.length && !balances.length) {
    $("upcoming").replaceChildren(empty("No weddings booked from this month on. A booking.confirmed event with data.wedding_date puts its wedding here."));
    return;
  }
  const months = [...new Set(periods.map((p) => p.period))];
  const weddingsIn = (m) => periods.filter((p) => p.period === m).reduce((s, p) => s + p.weddings, 0);
  const total = periods.reduce((s, p) => s + p.weddings, 0);
  const due = answer.due;
  $("upcoming").replaceChildren(
    el("p", {class: "big", "data-weddings": String(total)}, `${count(total)} weddings booked from ${month(answer.first_day)} to ${month(answer.last_day)}`),
    el("p", {id: "upcoming-due", "data-due": JSON.stringify(balances.map((b) => [b.currency, b.weddings, b.outstanding_minor]))},
      balances.length
        ? `Balances due in the next ${due.within_days} days (${day(due.due_from)} – ${day(due.due_to)}): ` +
          balances.map((b) => `${money(b.outstanding_minor, b.currency)} from ${count(b.weddings)} ${b.weddings === 1 ? "wedding" : "weddings"}`).join("; ")
        : `No balances due in the next ${due.within_days} days.`),
    el("p", {class: "muted"}, `Total booked ${perCurrency(periods, (p) => p.booked_minor)}; paid ${perCurrency(periods, (p) => p.paid_minor)}; ` +
      `outstanding ${perCurrency(periods, (p) => p.outstanding_minor)}. Cancelled bookings are already taken out.`),
    ...answer.pace.map((p) => el("p", {class: "pace", "data-season": p.season, "data-currency": p.currency},
      `Season ${p.season} (${p.currency}): ${count(p.weddings)} weddings, ${money(p.booked_minor, p.currency)} booked by ${day(p.as_of)}; ` +
      `season ${p.last_season} had ${count(p.last_weddings)} (${money(p.last_booked_minor, p.currency)}) by ${day(p.last_as_of)}: ` +
      `${signed(count(p.change_weddings), p.change_weddings)}${p.change_ratio === null ? "" : ` (${signed(percent(p.change_ratio), p.change_ratio)})`}.`)),
    bars("Weddings per month ahead", months.map((m) => ({name: month(m), value: weddingsIn(m), text: count(weddingsIn(m)), cls: "alt"}))),
    numbers("Upcoming weddings per month and currency", ["Month", "Currency", "Weddings", "Booked", "Paid", "Outstanding", "Cancelled"],
      periods.map((p) => [month(p.period), p.currency, count(p.weddings), money(p.booked_minor, p.currency), money(p.paid_minor, p.currency),
        money(p.outstanding_minor, p.currency), count(p.cancelled)])));
}
