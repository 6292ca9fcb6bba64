// The WedSync Analytics page: plain ES modules, no build step, every number from the dashboard API of this origin.
// This module signs in, keeps the period and interval, and refreshes the panels (on a change of the controls and
// on each change the live feed announces).
import {ApiError, explain, forget, get, session} from "./api.js";
import {$, el, failed} from "./draw.js";
import {day} from "./format.js";
import {fits, range, seasonName} from "./period.js";
import {cards, trend} from "./headline.js";
import {funnel, leads, revenue, seasonality, upcoming} from "./business.js";
import {engagement, reviews, team} from "./people.js";
import {behind, deadLetters, quality, reports} from "./pipeline.js";

const STORE = "wedsync.credential";
// Each panel: the share-link panel it belongs to (sharelinks.PANELS, or admin), where it draws, how, and whether
// it follows the chosen period (the others are redrawn on live changes only, not when the period changes).
const PANELS = [
  ["overview", "cards", cards, true], ["overview", "trend", trend, true], ["revenue", "revenue", revenue, true],
  ["funnel", "funnel", funnel, true], ["overview", "leads", leads, true], ["overview", "season", seasonality, false],
  ["revenue", "upcoming", upcoming, false], ["overview", "reviews", reviews, true], ["overview", "engagement", engagement, true],
  ["overview", "team", team, true], ["reports", "reports", reports, false], ["quality", "quality", quality, true],
  ["admin", "letters", deadLetters, false],
];
let org = null;
let live = null;
let running = null;
let again = false;
let refreshes = 0;

// ----- signing in: ?key= (from `up`), ?share= (a share link), #access_token= or a message from the WedSync app ---
function takeCredential() {
  const address = new URL(location.href);
  const fragment = new URLSearchParams(address.hash.slice(1));
  const given = address.searchParams.get("key") || address.searchParams.get("share") || fragment.get("access_token");
  if (given) {
    sessionStorage.setItem(STORE, given);
    address.searchParams.delete("key");
    address.searchParams.delete("share");
    history.replaceState(null, "", address.pathname + address.search); // the credential leaves the address bar
  }
  return sessionStorage.getItem(STORE);
}

async function signIn(value) {
  session.credential = value;
  sessionStorage.setItem(STORE, value);
  try {
    org = await get("/v1/organization");
  } catch (error) {
    signOut(explain(error));
    return;
  }
  $("signin").hidden = true;
  $("dashboard").hidden = false;
  problem("");
  const opens = new Set(org.panels);
  if (org.admin) opens.add("admin");
  document.querySelectorAll("#dashboard [data-panel]").forEach((s) => { s.hidden = !opens.has(s.dataset.panel); });
  $("preset").querySelector("[value=season]").textContent = `This season: ${seasonName(org.today)}`;
  status("");
  await refresh();
  listen();
}

function signOut(message) {
  sessionStorage.removeItem(STORE);
  session.credential = null;
  org = null;
  forget();
  if (live) live.close();
  live = null;
  $("dashboard").hidden = true;
  $("signin").hidden = false;
  $("live").textContent = "";
  problem(message || "");
  document.body.dataset.loaded = "signed-out";
}

// The WedSync app may hand over a Supabase access token from the window that opened or embeds this page.
window.addEventListener("message", (event) => {
  const fromApp = event.source && (event.source === window.opener || event.source === window.parent) && event.source !== window;
  const data = event.data || {};
  if (fromApp && data.type === "wedsync-access-token" && typeof data.access_token === "string") signIn(data.access_token);
});

function status(text) {
  const shared = org && org.signed_in_as === "share_link" ? "Shared view (read only)" : "";
  $("live").textContent = [shared, text].filter(Boolean).join(" · ");
}

function problem(text) {
  $("problem").hidden = !text;
  $("problem").textContent = text;
}

// ----- refreshing ---------------------------------------------------------------------------------------------
function question() {
  const preset = $("preset").value;
  $("custom").hidden = preset !== "custom";
  const chosen = range(preset, org, {from: $("from").value, to: $("to").value});
  const interval = fits($("interval").value, chosen);
  $("period-text").textContent = `${day(chosen.from)} – ${day(chosen.to)} (${org.timezone})`;
  return {range: chosen, interval};
}

async function refreshOnce(periodOnly) {
  const {range: chosen, interval} = question();
  const asked = new Map(); // one request per URL within a refresh, however many panels read it
  const ctx = {org, range: chosen, interval, fetch: (path, params) => {
    const k = `${path}?${JSON.stringify(params)}`;
    if (!asked.has(k)) asked.set(k, get(path, params));
    return asked.get(k);
  }};
  let signedOut = null;
  const shown = PANELS.filter(([, id, , ranged]) => !$(id).closest("[data-panel]").hidden && (ranged || !periodOnly));
  const run = ([, id, draw]) => draw(ctx).then((value) => [id, value], (error) => {
    if (error instanceof ApiError && error.status === 401) signedOut = error;
    else failed(id, error);
    return [id, null];
  });
  // The cards first: the browser and the server give their requests the way before the other panels'.
  const first = await Promise.all(shown.slice(0, 1).map(run));
  const results = first.concat(await Promise.all(shown.slice(1).map(run)));
  if (signedOut) return signOut(explain(signedOut));
  const found = Object.fromEntries(results);
  const hasNumbers = found.cards && found.cards.metrics.some((m) => m.value);
  const q = found.quality;
  if (!periodOnly || found.cards) emptyState(!hasNumbers && !found.trend && (!q || !q.freshness.newest_event_at));
  problem(q && behind(q) ? "The pipeline is behind: the newest events are not all counted yet (see Data quality)." : "");
  refreshes += 1;
  document.body.dataset.refreshes = String(refreshes);
  document.body.dataset.loaded = "true";
}

// One refresh at a time; changes arriving meanwhile are folded into one more. `periodOnly`: the controls changed,
// so the panels that do not follow the period stay as they are.
async function refresh(periodOnly = false) {
  if (!session.credential || !org) return;
  if (running) {
    again = periodOnly && again !== "all" ? "period" : "all";
    return running;
  }
  document.body.dataset.busy = "true";
  running = (async () => {
    try {
      let only = periodOnly;
      do { again = false; await refreshOnce(only); only = again === "period"; } while (again && session.credential);
    } finally {
      running = null;
      delete document.body.dataset.busy;
    }
  })();
  return running;
}

function emptyState(none) {
  $("empty").hidden = !none;
  if (none) $("empty").replaceChildren(
    el("h2", {}, "No events yet"),
    el("p", {}, "Send one to the ingest function with your ingest key (", el("code", {}, "wedsync-analytics up"),
      " prints both), or point a provider's webhook at ", el("code", {}, "$INGEST_URL/v1/webhooks/<provider>/<source id>"),
      " (", el("code", {}, "wedsync-analytics sources add"), " prints it). This page updates by itself:"),
    el("pre", {}, `curl -s -X POST $INGEST_URL/v1/events -H 'Content-Type: application/json' \\\n  -H "Authorization: Bearer $INGEST_KEY" \\\n  -d '{"event_id":"first-1","type":"inquiry.received","occurred_at":"${new Date().toISOString().slice(0, 19)}Z","client_id":"c1","data":{"lead_source":"instagram"}}'`));
}

function listen() {
  if (live || typeof EventSource === "undefined" || !session.credential) return;
  // EventSource sends no headers: the live feed alone takes the credential as ?key= (docs/dashboard.md)
  live = new EventSource(`/v1/events/live?key=${encodeURIComponent(session.credential)}`);
  live.addEventListener("open", () => status("Live: updates as events arrive"));
  live.addEventListener("change", () => refresh());
  live.addEventListener("error", () => status("Live updates paused; reconnecting…"));
}

// A page leaving (closed, reloaded, or put in the back-forward cache) ends its live stream at once rather than
// holding one of the organization's few streams until the server's next heartbeat; coming back opens a new one.
window.addEventListener("pagehide", () => {
  if (live) live.close();
  live = null;
});
window.addEventListener("pageshow", (event) => { if (event.persisted && org) listen(); });

function start() {
  $("range").addEventListener("change", () => refresh(true));
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
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
