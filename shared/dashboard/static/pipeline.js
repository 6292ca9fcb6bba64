// The pipeline as the owner needs to know it: is every event counted (freshness, intake, rejections, queues),
// the stored reports with their files, and for admins the dead letters waiting to be replayed.
import {$, csvLinks, el, empty, numbers, table} from "./draw.js";
import {download, explain, url} from "./api.js";
import {count, day} from "./format.js";

const BEHIND_SECONDS = 120;

// Behind: messages have waited in a queue for minutes (a quiet week with no events is not "behind").
export function behind(q) {
  return q.queues.some((x) => x.length > 0 && x.oldest_age_seconds !== null && x.oldest_age_seconds > BEHIND_SECONDS);
}

export async function quality(ctx) {
  const q = await ctx.fetch("/v1/quality", ctx.range);
  csvLinks("quality-csv", [{path: "/v1/quality", params: ctx.range}]);
  const waiting = q.queues.reduce((s, x) => s + x.length, 0);
  const failing = q.checks.filter((c) => c.status !== "ok");
  const state = behind(q)
    ? el("p", {class: "down"}, `The pipeline is behind: ${count(waiting)} messages wait in its queues, the oldest for ${Math.round(Math.max(...q.queues.map((x) => x.oldest_age_seconds || 0)) / 60)} minutes, so the newest events are not all counted yet. It catches up by itself; if this stays, check that every function is running.`)
    : el("p", {class: "up"}, q.freshness.newest_event_at ? "Up to date: every received event is counted." : "No events received yet.");
  const reasons = q.rejection_reasons.map((r) => [`${r.kind || r.stage}${r.field ? ` (${r.field})` : ""}`, count(r.occurrences), r.example]);
  $("quality").replaceChildren(...[state,
    table("Intake per source", ["Source", "Received", "Stored", "Rejected", "Duplicates"],
      q.totals.length ? q.totals.map((t) => [t.source, count(t.received), count(t.stored), count(t.rejected), count(t.duplicates)]) : [["(none yet)", 0, 0, 0, 0]]),
    el("p", {}, `Dead letters waiting: ${count(q.dead_letters_waiting)} · queued now: ${count(waiting)}`),
    reasons.length ? numbers("Rejected events and why", ["Reason", "Times", "Example"], reasons) : null,
    ...failing.map((c) => el("p", {class: "down"}, `${c.check}: ${c.message}`))].filter(Boolean));
  return q;
}

export async function reports(ctx) {
  const answer = await ctx.fetch("/v1/reports", {limit: 12});
  csvLinks("reports-csv", [{label: "List CSV", path: "/v1/reports", params: {limit: 12}}]);
  if (!answer.reports.length) {
    $("reports").replaceChildren(empty("No reports yet. Weekly and monthly reports are written after each period ends; to make one now:", "wedsync-analytics report --org <id> --period 2026-W45"));
    return;
  }
  const files = (r) => el("span", {class: "links"}, ...r.formats.map((f) => {
    const link = el("a", {href: url(`/v1/reports/${r.id}`, {format: f}), download: ""}, f.toUpperCase());
    link.addEventListener("click", (event) => {
      event.preventDefault();
      download(`/v1/reports/${r.id}`, {format: f}).catch((error) => alert(explain(error)));
    });
    return link;
  }));
  $("reports").replaceChildren(el("ul", {class: "reports"}, ...answer.reports.map((r) => el("li", {},
    el("span", {}, el("strong", {}, r.title || `${r.kind} report from ${day(r.period_start)}`),
      el("span", {class: "muted"}, ` · ${r.status}`)),
    files(r)))));
}

export async function deadLetters(ctx) {
  const answer = await ctx.fetch("/v1/dead-letters", {limit: 20});
  const letters = answer.dead_letters;
  $("letters-csv").replaceChildren();
  if (!letters.length) {
    $("letters").replaceChildren(empty("No dead letters: every event was accepted."));
    return;
  }
  $("letters").replaceChildren(
    el("p", {}, `The ${count(letters.length)} most recent events the pipeline could not take, and why. Fix the sender, then replay them:`),
    el("pre", {}, "wedsync-analytics dead-letters replay --org <id> --all"),
    table("Dead letters", ["Event", "Source", "Stage", "Why", "Last seen", "State"], letters.map((d) => [
      d.event_type || d.event_id || `#${d.id}`, d.source, d.stage,
      d.reasons.map((r) => r.msg || r.message || r.type || "").filter(Boolean).join("; ") || "–",
      d.last_seen_at.slice(0, 16).replace("T", " "), d.replay_state])));
}
