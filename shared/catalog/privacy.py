"""Personal data never reaches storage in clear: emails and phone numbers become keyed pseudonyms.

A pseudonym is `pii:` plus a truncated HMAC-SHA256 of the normalised value under PII_HASH_KEY, so the same
person still counts as one client across events while nobody can read the address back.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import zoneinfo
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import phonenumbers

PSEUDONYM = re.compile(r"^pii:[0-9a-f]{32}$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Phone numbers in national format are read as numbers of these regions when the organization's country is
# unknown (its time zone names none); international ones (+44 ...) are found whatever the region.
DEFAULT_REGIONS: tuple[str, ...] = ("GB", "US")
PII_FIELDS = frozenset({"email", "phone", "client_email", "client_phone", "recipient", "from_email", "to_email"})


def pseudonym(value: str, key: bytes) -> str:
    """The stable pseudonym of an email address or phone number (case and formatting do not matter)."""
    if PSEUDONYM.match(value):
        return value
    normalised = value.strip().lower()
    if "@" not in normalised:
        normalised = re.sub(r"[^0-9+]", "", normalised)
    return "pii:" + hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:32]


@functools.cache
def _zone_countries() -> dict[str, str]:
    for root in zoneinfo.TZPATH:
        table = Path(root) / "zone.tab"
        if table.is_file():
            rows = (line.split("\t") for line in table.read_text().splitlines() if not line.startswith("#"))
            return {row[2].strip(): row[0] for row in rows if len(row) >= 3}
    return {}


def regions_for(tz: Any) -> tuple[str, ...]:
    """Where national phone numbers are read from: the country of the organization's zone, then the defaults."""
    country = _zone_countries().get(str(getattr(tz, "key", tz))) if tz is not None else None
    return tuple(dict.fromkeys([*([country] if country else []), *DEFAULT_REGIONS]))


def _looks_like_phone(match: phonenumbers.PhoneNumberMatch) -> bool:
    """A valid number of its region, or a possible one written as phone numbers are (trunk 0, +, parentheses).

    The second covers ranges libphonenumber calls invalid but people still write, such as 07700 900123 (the UK
    range reserved for drama), without flagging amounts or dates (4500000, 20261115).
    """
    if phonenumbers.is_valid_number(match.number):
        return True
    digits = sum(c.isdigit() for c in match.raw_string)
    return digits >= 10 and match.raw_string[0] in "+0("


def _phones(text: str, regions: Iterable[str]) -> list[tuple[int, int]]:
    if sum(c.isdigit() for c in text) < 6:
        return []
    spans: set[tuple[int, int]] = set()
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            if _looks_like_phone(match):
                spans.add((match.start, match.end))
    return sorted(spans)


def find(text: str, regions: Iterable[str], *, phones: bool = True) -> str | None:
    """What personal data `text` holds ("an email address", "a phone number") or None."""
    if "@" in text and _EMAIL.search(text):
        return "an email address"
    if phones and _phones(text, regions or DEFAULT_REGIONS):
        return "a phone number"
    return None


def _scrub_text(text: str, key: bytes, regions: Iterable[str]) -> str:
    if "@" in text:
        text = _EMAIL.sub(lambda m: pseudonym(m.group(0), key), text)
    for start, end in reversed(_phones(text, regions) if regions else []):
        text = text[:start] + pseudonym(text[start:end], key) + text[end:]
    return text


def scrub(value: Any, key: bytes, *, field: str | None = None, regions: Iterable[str] = DEFAULT_REGIONS) -> Any:
    """A copy of `value` with PII fields pseudonymised and emails and phone numbers in any other text replaced.

    For dead letters: what the catalog refused must not be kept in clear either.
    """
    if isinstance(value, dict):
        return {k: scrub(v, key, field=k, regions=regions) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, key, field=field, regions=regions) for v in value]
    if isinstance(value, str):
        if field in PII_FIELDS:
            return pseudonym(value, key)
        # identifiers (`*_id`) are often long digit strings: only email addresses are looked for there
        return _scrub_text(value, key, () if field and field.endswith("id") else regions)
    return value
