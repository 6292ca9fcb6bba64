"""How report numbers are written for people and for spreadsheets: exact money (integer arithmetic via
`currencies.format_minor`), percentages, changes, and readable names for stored keys."""

from __future__ import annotations

from shared.catalog import currencies
from shared.report import content

NONE = "\u2013"  # an en dash: no data, or nothing to compare with

_NAMES = {
    "": "Not recorded",
    "web_form": "Web form",
    "google": "Google",
    "instagram": "Instagram",
    "facebook": "Facebook",
    "pinterest": "Pinterest",
    "tiktok": "TikTok",
    "referral": "Referral",
    "the_knot": "The Knot",
    "weddingwire": "WeddingWire",
    "hitched": "Hitched",
    "direct": "Direct",
    "wedding_fair": "Wedding fair",
    "repeat": "Repeat client",
    "venue": "Venue referral",
}


def name(key: str) -> str:
    """'wedding_fair' -> 'Wedding fair'; empty -> 'Not recorded'."""
    if key in _NAMES:
        return _NAMES[key]
    return key.replace("_", " ").replace("-", " ").strip().capitalize()


def decimal(amount_minor: int, code: str) -> str:
    """Exact major-unit amount without grouping, for spreadsheets: 123456 GBP -> '1234.56'."""
    exp = currencies.exponent(code)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exp)
    return f"{sign}{whole}" + (f".{frac:0{exp}d}" if exp else "")


def money(amount_minor: int, code: str) -> str:
    return currencies.format_minor(amount_minor, code)


def value(fig: content.Figure, v: int | float | None = None, *, use: bool = False) -> str:
    """A figure's value (or `v`) for people; a dash where there is no data."""
    x = v if use else fig.value
    if x is None:
        return NONE
    if fig.unit == "money":
        return money(int(x), fig.currency or "")
    if fig.unit == "ratio":
        return f"{x * 100:.1f}%"
    if fig.unit == "score":
        return f"{x:+.0f}" if fig.key.startswith("nps") and fig.key != "nps_responses" else f"{x:.2f}"
    if fig.unit == "days":
        return f"{x:.0f} days"
    return f"{int(x):,}"


def change(fig: content.Figure, before: int | float | None) -> str:
    """'+12%' for counts and money, '+3.1 pts' for ratios, '+0.20' for scores; a dash without a comparison."""
    if fig.value is None or before is None:
        return NONE
    if fig.unit == "ratio":
        return f"{(fig.value - before) * 100:+.1f} pts"
    if fig.unit == "score":
        return f"{fig.value - before:+.0f}" if fig.key == "nps" else f"{fig.value - before:+.2f}"
    if before == 0:
        return "new" if fig.value else "no change"
    return f"{(fig.value - before) / abs(before) * 100:+.0f}%"


def raw(fig: content.Figure, v: int | float | None) -> str:
    """Spreadsheet value: exact decimal money, ratios as fractions, empty for no data."""
    if v is None:
        return ""
    if fig.unit == "money":
        return decimal(int(v), fig.currency or "")
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)
