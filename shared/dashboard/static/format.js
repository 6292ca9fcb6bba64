// Numbers as people read them. Money arrives in minor units; each currency's exponent (JPY 0, EUR 2, BHD 3)
// comes from the generated currency table, so an amount is never divided by a guessed 100.
import {EXPONENTS} from "./currencies.js";

const counts = new Intl.NumberFormat();
const none = (v) => v === null || v === undefined;

export const count = (n) => (none(n) ? "–" : counts.format(n));

export function exponent(currency) {
  return Object.prototype.hasOwnProperty.call(EXPONENTS, currency) ? EXPONENTS[currency] : 2;
}

// The exact decimal text of a minor-unit amount: 123456 JPY -> "123456", 123456 BHD -> "123.456".
export function decimal(minor, currency) {
  const exp = exponent(currency);
  const digits = String(Math.abs(Math.round(minor))).padStart(exp + 1, "0");
  const text = exp ? `${digits.slice(0, -exp)}.${digits.slice(-exp)}` : digits;
  return minor < 0 ? `-${text}` : text;
}

export function money(minor, currency) {
  if (none(minor)) return "–";
  const exp = exponent(currency);
  try {
    const style = {style: "currency", currency, minimumFractionDigits: exp, maximumFractionDigits: exp};
    return new Intl.NumberFormat(undefined, style).format(decimal(minor, currency)); // a string stays exact
  } catch (_) {
    return `${decimal(minor, currency)} ${currency}`;
  }
}

export const percent = (ratio) => (none(ratio) ? "–" : `${Math.round(ratio * 1000) / 10}%`);
export const signed = (text, value) => (value > 0 ? `+${text}` : text);

// One value of the API with its unit: count, money (with its currency), ratio, score, days, milliseconds.
export function show(unit, value, currency) {
  if (none(value)) return "–";
  if (unit === "money") return money(value, currency);
  if (unit === "ratio") return percent(value);
  if (unit === "score") return (Math.round(value * 10) / 10).toLocaleString();
  if (unit === "days") return `${Math.round(value)} days`;
  if (unit === "milliseconds") return `${(value / 3600000).toFixed(1)} h`;
  return count(value);
}

// A change of a ratio is in percentage points, of anything else in its own unit.
export function change(unit, delta, currency) {
  if (none(delta)) return "–";
  if (unit === "ratio") return signed(`${Math.round(delta * 1000) / 10} pts`, delta);
  return signed(show(unit, delta, currency), delta);
}

const months = new Intl.DateTimeFormat(undefined, {month: "short", year: "numeric", timeZone: "UTC"});
const days = new Intl.DateTimeFormat(undefined, {day: "numeric", month: "short", year: "numeric", timeZone: "UTC"});
// "2026-06" or "2026-06-01..." as "Jun 2026"; dates as "1 Jun 2026" (the API's local dates, shown as they are)
export const month = (key) => months.format(new Date(Date.UTC(+key.slice(0, 4), +key.slice(5, 7) - 1, 1)));
export const day = (key) => days.format(new Date(Date.UTC(+key.slice(0, 4), +key.slice(5, 7) - 1, +key.slice(8, 10))));
