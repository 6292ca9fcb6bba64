// Periods in the organization's calendar: presets start from its `today` and its first day of the week (both
// from GET /v1/organization), never from the browser's clock or zone. Dates are plain YYYY-MM-DD strings; the
// arithmetic runs on UTC midnights, where every day has 24 hours.
const DAY = 86400000;
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const SEASONS = ["Winter (Dec–Feb)", "Spring (Mar–May)", "Summer (Jun–Aug)", "Autumn (Sep–Nov)"];

const parse = (text) => Date.UTC(+text.slice(0, 4), +text.slice(5, 7) - 1, +text.slice(8, 10));
const iso = (time) => new Date(time).toISOString().slice(0, 10);
export const addDays = (text, n) => iso(parse(text) + n * DAY);
export const daysBetween = (from, to) => Math.round((parse(to) - parse(from)) / DAY) + 1;

export function seasonName(today) {
  return SEASONS[Math.floor(((+today.slice(5, 7)) % 12) / 3)];
}

// The first and last local day of a preset ("custom" takes the given days).
export function range(preset, org, custom) {
  const today = org.today;
  const t = new Date(parse(today));
  const year = t.getUTCFullYear();
  const month = t.getUTCMonth();
  if (preset === "week") {
    const back = (t.getUTCDay() - WEEKDAYS.indexOf(org.week_start) + 7) % 7;
    return {from: addDays(today, -back), to: today};
  }
  if (preset === "month") return {from: iso(Date.UTC(year, month, 1)), to: today};
  if (preset === "season") return {from: iso(Date.UTC(year, month - ((month + 1) % 3), 1)), to: today};
  if (preset === "year") return {from: `${year}-01-01`, to: today};
  if (preset === "custom" && custom.from && custom.to && custom.from <= custom.to) return {...custom};
  return {from: addDays(today, -29), to: today};
}

// The same period a year earlier: 364 days (52 weeks) back, so weekdays line up.
export const lastYear = (r) => ({from: addDays(r.from, -364), to: addDays(r.to, -364)});

// The twelve months up to and including today's: seasonality's window.
export function twelveMonths(org) {
  const t = new Date(parse(org.today));
  return {from: iso(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() - 11, 1)), to: org.today};
}

// This month and the eleven after it, whole months in the organization's calendar: the weddings ahead.
export function monthsAhead(org) {
  const t = new Date(parse(org.today));
  return {from: iso(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1)), to: iso(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 12, 0))};
}

// Bookings of the last three years: where the weddings still ahead were booked.
export const bookingsWindow = (org) => ({from: addDays(org.today, -3 * 365), to: org.today});

// The finest interval the API allows for the period (day covers at most 1,100 days).
export function fits(interval, r) {
  return interval !== "day" || daysBetween(r.from, r.to) <= 1100 ? interval : "week";
}
