// The WedSync Analytics page: plain JS, no build step, every number from the dashboard API of this origin.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const STORE = "wedsync.credential";
  const CARDS = ["inquiries", "bookings", "revenue_net", "weddings_booked", "new_clients", "average_booking_value"];
  const LABELS = {inquiries: "Inquiries", bookings: "Bookings", revenue_net: "Net revenue", weddings_booked: "Weddings booked",
    new_clients: "New clients", average_booking_value: "Average booking", inquiry: "Inquired", booking: "Booked",
    deposit_paid: "Deposit paid", balance_paid: "Balance paid"};
  const answers = new Map(); // path -> {etag, body}: unchanged answers cost a 304
  let credential = null;
  let live = null;

  // ----- signing in -----------------------------------------------------------------------------------------------
  function takeCredential() {
    const url = new URL(location.href);
    const fragment = new URLSearchParams(url.hash.slice(1));
    const given = url.searchParams.get("key") || fragment.get("access_token");
    if (given) {
      sessionStorage.setItem(STORE, given);
      url.searchParams.delete("key");
      url.hash = "";
      history.replaceState(null, "", url.pathname + url.search); // the key leaves the address bar and history
    }
    return sessionStorage.getItem(STORE);
  }

  function signIn(value) {
    credential = value;
    sessionStorage.setItem(STORE, value);
    $("signin").hidden = true;
    $("dashboard").hidden = false;
    refresh();
    listen();
  }

  function signOut(message) {
    sessionStorage.removeItem(STORE);
    credential = null;
    answers.clear();
    if (live) live.close();
    live = null;
    $("dashboard").hidden = true;
    $("signin").hidden = false;
    $("live").textContent = "";
    problem(message || "");
  }

  // The WedSync app may hand over a Supabase access token from the window that opened or embeds this page.
  window.addEventListener("message", (event) => {
    const fromApp = event.source && (event.source === window.opener || event.source === window.parent);
    const data = event.data || {};
    if (fromApp && event.source !== window && data.type === "wedsync-access-token" && typeof data.access_token === "string") {
      signIn(data.access_token);
    }
  });

  // ----- reading the API ------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function get(path, params) {
    const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v));
    const url = query.toString() ? `${path}?${query}` : path;
    const known = answers.get(url);
    const headers = {Authorization: `Bearer ${credential}`};
    if (known) headers["If-None-Match"] = known.etag;
    const response = await fetch(url, {headers, cache: "no-store"});
    if (response.status === 304 && known) return known.body;
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) throw new ApiError(response.status, (body && body.message) || response.statusText);
    const etag = response.headers.get("ETag");
    if (etag) answers.set(url, {etag, body});
    return body;
  }

  function explain(error) {
    if (!(error instanceof ApiError)) return `The dashboard could not be reached (${error.message}). Check your connection; it retries on the next change.`;
    if (error.status === 401) return `Your sign-in key is invalid, revoked or expired (${error.message}). Open a fresh link or paste a read key.`;
    if (error.status === 403) return `This key has no access to these numbers (${error.message}). Use a key with the 'read' scope.`;
    if (error.status === 429) return "Too many requests for a moment; the numbers refresh again shortly.";
    if (error.status === 503) return `The database cannot answer right now (${error.message}). Try again in a few seconds.`;
    return `The dashboard answered ${error.status}: ${error.message}`;
  }

  function problem(text) {
    $("problem").hidden = !text;
    $("problem").textContent = text;
  }

  // ----- the period -----------------------------------------------------------------------------------------------
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

  function period() {
    const today = new Date();
    const preset = $("preset").value;
    $("custom").hidden = preset !== "custom";
    if (preset === "month") return {from: iso(new Date(today.getFullYear(), today.getMonth(), 1)), to: iso(today)};
    if (preset === "year") return {from: iso(new Date(today.getFullYear(), 0, 1)), to: iso(today)};
    if (preset === "custom" && $("from").value && $("to").value) return {from: $("from").value, to: $("to").value};
    return {}; // the API's default: the last 30 days in the organization's zone
  }

  // ----- drawing --------------------------------------------------------------------------------------------------
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };
  const svg = (tag, attrs) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  };
  const count = new Intl.NumberFormat();
  const money = (minor, currency) => {
    try { return new Intl.NumberFormat(undefined, {style: "currency", currency}).format(minor / 100); }
    catch (_) { return `${(minor / 100).toFixed(2)} ${currency}`; }
  };
  const percent = (ratio) => (ratio === null || ratio === undefined ? "–" : `${Math.round(ratio * 1000) / 10}%`);

  function show(change) {
    if (change.value === null || change.value === undefined) return "–";
    if (change.unit === "money") return money(change.value, change.currency || "GBP");
    if (change.unit === "ratio") return percent(change.value);
    return count.format(change.value);
  }

  function table(head, rows) {
    return el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", i ? {class: "n", scope: "col"} : {scope: "col"}, h)))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c, i) => el(i ? "td" : "th", i ? {class: "n"} : {scope: "row"}, String(c)))))));
  }

  function drawCards(overview) {
    const cards = overview.metrics.filter((m) => CARDS.includes(m.metric));
    cards.sort((a, b) => CARDS.indexOf(a.metric) - CARDS.indexOf(b.metric));
    $("cards").replaceChildren(...cards.map((m) => {
      const ratio = m.change_ratio;
      const direction = !m.change ? "flat" : m.change > 0 ? "up" : "down";
      const delta = m.change === null || m.change === undefined ? "no previous period"
        : `${m.change > 0 ? "+" : ""}${show({...m, value: m.change})}${ratio === null ? "" : ` (${percent(ratio)})`} vs previous period`;
      return el("li", {class: "card", "data-metric": m.metric + (m.currency ? `:${m.currency}` : "")},
        el("span", {class: "label"}, `${LABELS[m.metric] || m.metric}${m.currency ? ` (${m.currency})` : ""}`),
        el("span", {class: "value"}, show(m)),
        el("span", {class: direction}, delta));
    }));
    return overview.metrics.some((m) => (m.metric === "inquiries" || m.metric === "bookings") && m.value);
  }

  function drawChart(inquiries, bookings) {
    const a = inquiries.series[0] ? inquiries.series[0].points : [];
    const b = bookings.series[0] ? bookings.series[0].points : [];
    const width = 640, height = 220, pad = 28;
    const top = Math.max(1, ...a.map((p) => p.value || 0), ...b.map((p) => p.value || 0));
    const x = (i) => pad + (a.length > 1 ? (i * (width - 2 * pad)) / (a.length - 1) : 0);
    const y = (v) => height - pad - ((v || 0) * (height - 2 * pad)) / top;
    const total = (ps) => ps.reduce((s, p) => s + (p.value || 0), 0);
    const chart = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `Inquiries and bookings per ${inquiries.interval}: ${count.format(total(a))} inquiries and ${count.format(total(b))} bookings in ${a.length} ${inquiries.interval}s; the table below lists each.`});
    chart.append(svg("line", {class: "axis", x1: pad, y1: height - pad, x2: width - pad, y2: height - pad}));
    const label = svg("text", {class: "tick", x: 2, y: pad});
    label.textContent = count.format(top);
    chart.append(label);
    [[a, "s1"], [b, "s2"]].forEach(([points, cls]) =>
      chart.append(svg("polyline", {class: cls, points: points.map((p, i) => `${x(i)},${y(p.value)}`).join(" ")})));
    if (a.length) [0, a.length - 1].forEach((i) => {
      const t = svg("text", {class: "tick", x: x(i), y: height - 8, "text-anchor": i ? "end" : "start"});
      t.textContent = a[i].start.slice(0, 10);
      chart.append(t);
    });
    const legend = el("ul", {class: "legend"}, el("li", {}, el("span", {class: "key k1"}), "Inquiries"),
      el("li", {}, el("span", {class: "key k2"}), "Bookings (dashed)"));
    $("chart").replaceChildren(chart, legend);
    $("chart-table").replaceChildren(table([inquiries.interval, "Inquiries", "Bookings"],
      a.map((p, i) => [p.start.slice(0, 10), count.format(p.value || 0), count.format((b[i] && b[i].value) || 0)])));
  }

  function drawRevenue(revenue) {
    $("revenue").replaceChildren(revenue.currencies.length
      ? table(["Currency", "Gross", "Refunds", "Net", "Payments"], revenue.currencies.map((c) =>
        [c.currency, money(c.gross_minor, c.currency), money(c.refunds_minor, c.currency), money(c.net_minor, c.currency), count.format(c.payments)]))
      : el("p", {}, "No payments in this period."));
  }

  function drawFunnel(answer) {
    const stages = answer.funnel.stages;
    const first = Math.max(1, stages[0] ? stages[0].clients : 1);
    $("funnel").replaceChildren(
      el("div", {class: "bars", role: "list"}, ...stages.map((s) => el("div", {class: "barrow", role: "listitem"},
        el("span", {}, LABELS[s.stage] || s.stage),
        el("span", {"aria-hidden": "true"}, el("span", {class: "barfill"})),
        el("span", {}, `${count.format(s.clients)} (${percent(s.rate_from_inquiry)})`)))),
      el("p", {}, `Conversion from inquiry to booking: ${percent(answer.funnel.conversion_rate)}` +
        (answer.funnel.median_days_to_book === null ? "" : `; median ${answer.funnel.median_days_to_book} days to book`)));
    // widths through CSSOM, not a style attribute: the policy allows no inline styles
    $("funnel").querySelectorAll(".barfill").forEach((bar, i) => { bar.style.width = `${(100 * stages[i].clients) / first}%`; });
  }

  function drawQuality(q) {
    const age = q.freshness.age_seconds;
    const behind = age !== null && age > 300;
    const failing = q.checks.filter((c) => c.status !== "ok");
    const waiting = q.queues.reduce((s, x) => s + x.length, 0);
    const received = q.totals.reduce((s, t) => s + t.received, 0);
    const rejected = q.totals.reduce((s, t) => s + t.rejected, 0);
    $("quality").replaceChildren(
      el("p", {class: behind ? "down" : ""}, behind
        ? `The pipeline is behind: the newest numbers are ${Math.round(age / 60)} minutes older than the newest events (${waiting} waiting in queues).`
        : q.freshness.newest_event_at ? "Up to date: every received event is counted." : "No events received yet."),
      table(["", "Received", "Rejected", "Dead letters", "Waiting"], [["This period", count.format(received),
        count.format(rejected), count.format(q.dead_letters_waiting), count.format(waiting)]]),
      ...failing.map((c) => el("p", {class: "down"}, `${c.check}: ${c.message}`)));
    return behind;
  }

  function emptyState(hasEvents, quality) {
    const none = !hasEvents && !quality.freshness.newest_event_at;
    $("empty").hidden = !none;
    if (none) $("empty").replaceChildren(
      "No events yet. Send one to the ingest function with your ingest key (",
      el("code", {}, "wedsync-analytics up"), " prints both), and this page updates by itself:",
      el("pre", {}, `curl -s -X POST $INGEST_URL/v1/events -H 'Content-Type: application/json' \\\n  -H "Authorization: Bearer $INGEST_KEY" \\\n  -d '{"event_id":"first-1","type":"inquiry.received","occurred_at":"${new Date().toISOString()}","client_id":"c1","data":{"lead_source":"instagram"}}'`));
  }

  // ----- refreshing -----------------------------------------------------------------------------------------------
  let running = null;
  async function refresh() {
    if (!credential) return;
    if (running) return running.then(refresh);
    const p = period();
    const interval = $("interval").value;
    running = (async () => {
      try {
        const [overview, inquiries, bookings, revenue, funnel, quality] = await Promise.all([
          get("/v1/metrics/overview", p),
          get("/v1/metrics/timeseries", {...p, metric: "inquiries", interval}),
          get("/v1/metrics/timeseries", {...p, metric: "bookings", interval}),
          get("/v1/revenue", p), get("/v1/funnel", p), get("/v1/quality", p)]);
        const hasEvents = drawCards(overview);
        drawChart(inquiries, bookings);
        drawRevenue(revenue);
        drawFunnel(funnel);
        drawQuality(quality);
        emptyState(hasEvents, quality);
        problem("");
        document.body.dataset.loaded = "true";
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) signOut(explain(error));
        else problem(explain(error));
      } finally {
        running = null;
      }
    })();
    return running;
  }

  function listen() {
    if (live || typeof EventSource === "undefined") return;
    // EventSource sends no headers: the live feed alone takes the credential as ?key= (docs/dashboard.md)
    live = new EventSource(`/v1/events/live?key=${encodeURIComponent(credential)}`);
    live.addEventListener("open", () => { $("live").textContent = "Live: updates as events arrive"; });
    live.addEventListener("change", () => refresh());
    live.addEventListener("error", () => { $("live").textContent = "Live updates paused; reconnecting…"; });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("range").addEventListener("change", () => refresh());
    $("range").addEventListener("submit", (e) => e.preventDefault());
    $("signout").addEventListener("click", () => signOut(""));
    $("signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const value = $("signin-key").value.trim();
      if (value) signIn(value);
    });
    const found = takeCredential();
    if (found) signIn(found);
    else signOut("");
  });
})();
