// What clients say (reviews, NPS), how they engage (email, journeys, notifications) and what the team does in the
// app. The totals come from the period's overview (already fetched for the cards); breakdowns from the API.
import {$, bars, csvLinks, el, empty, numbers, table} from "./draw.js";
import {count, show} from "./format.js";
import {OVERVIEW} from "./headline.js";

const BREAKDOWN = "/v1/metrics/breakdown";
const pick = (overview, name) => overview.metrics.find((m) => m.metric === name && !m.currency) || {unit: "count", value: null};
const figure = (overview, name) => { const m = pick(overview, name); return show(m.unit, m.value); };

export async function reviews(ctx) {
  const by = (metric) => ctx.fetch(BREAKDOWN, {...ctx.range, metric, by: "platform"});
  const [overview, rating, nps] = await Promise.all([ctx.fetch(OVERVIEW, ctx.range), by("review_rating"), by("nps")]);
  csvLinks("reviews-csv", [{label: "Ratings CSV", path: BREAKDOWN, params: {...ctx.range, metric: "review_rating", by: "platform"}},
    {label: "NPS CSV", path: BREAKDOWN, params: {...ctx.range, metric: "nps", by: "platform"}}]);
  if (!pick(overview, "reviews_rated").value && !pick(overview, "nps_responses").value) {
    $("reviews").replaceChildren(empty("No reviews or NPS answers in this period. Send review.received events with data.rating (1 to 5) and/or data.nps (0 to 10), e.g. from your review requests."));
    return;
  }
  const platforms = [...new Set([...rating.rows, ...nps.rows].map((r) => r.key))];
  const of = (answer, p) => (answer.rows.find((r) => r.key === p) || {}).value;
  $("reviews").replaceChildren(
    el("div", {class: "figures"},
      el("p", {}, el("span", {class: "big"}, `${figure(overview, "review_rating")} ★`), ` average of ${figure(overview, "reviews_rated")} ratings`),
      el("p", {}, el("span", {class: "big"}, `NPS ${figure(overview, "nps")}`), ` from ${figure(overview, "nps_responses")} answers`)),
    table("Reviews per platform", ["Platform", "Average rating", "NPS"], platforms.map((p) => [p || "(not said)", show("score", of(rating, p)), show("score", of(nps, p))])));
}

const GROUPS = [
  ["Email", [["Sent", "emails_sent"], ["Delivered", "email_delivery_rate"], ["Opened", "email_open_rate"], ["Clicked", "email_click_rate"], ["Bounced", "email_bounce_rate"]]],
  ["Journeys", [["Started", "journeys_started"], ["Completed", "journeys_completed"], ["Abandoned", "journeys_abandoned"], ["Completion", "journey_completion_rate"]]],
  ["Notifications", [["Sent", "notifications_sent"], ["Delivered", "notification_delivery_rate"], ["Opened", "notification_open_rate"], ["Failed", "notification_failure_rate"]]],
];

export async function engagement(ctx) {
  const overview = await ctx.fetch(OVERVIEW, ctx.range);
  csvLinks("engagement-csv", [{path: OVERVIEW, params: ctx.range}]);
  const any = ["emails_sent", "journeys_started", "notifications_sent"].some((m) => pick(overview, m).value);
  if (!any) {
    $("engagement").replaceChildren(empty("No emails, journeys or notifications in this period. Send email.sent/opened/clicked, journey.started/completed and notification.sent/delivered events (or connect your email provider's webhook)."));
    return;
  }
  $("engagement").replaceChildren(
    bars("Emails this period", [["Sent", "emails_sent"], ["Delivered", "emails_delivered"], ["Opened", "emails_opened"], ["Clicked", "emails_clicked"]]
      .map(([name, m]) => ({name: `Emails ${name.toLowerCase()}`, value: pick(overview, m).value || 0, text: count(pick(overview, m).value || 0)}))),
    el("div", {class: "groups"}, ...GROUPS.map(([title, rows]) => table(title, [title, "This period"], rows.map(([name, m]) => [name, figure(overview, m)])))));
}

export async function team(ctx) {
  const by = (dimension) => ctx.fetch(BREAKDOWN, {...ctx.range, metric: "app_actions", by: dimension});
  const [people, actions] = await Promise.all([by("user"), by("action")]);
  csvLinks("team-csv", [{label: "By person CSV", path: BREAKDOWN, params: {...ctx.range, metric: "app_actions", by: "user"}},
    {label: "By action CSV", path: BREAKDOWN, params: {...ctx.range, metric: "app_actions", by: "action"}}]);
  if (!people.rows.length) {
    $("team").replaceChildren(empty("No team activity in this period. The app sends app.action events (data.user_id, data.action) as your team works."));
    return;
  }
  $("team").replaceChildren(
    bars("Actions per team member", people.rows.slice(0, 8).map((r) => ({name: r.key || "(not said)", value: r.value, text: count(r.value), cls: "alt"}))),
    numbers("Team activity", ["Action", "Times"], actions.rows.map((r) => [r.key || "(not said)", count(r.value)])));
}
