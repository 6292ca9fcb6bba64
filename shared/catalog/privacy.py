"""Personal data never reaches storage in clear: emails and phone numbers become keyed pseudonyms.

A pseudonym is `pii:` plus a truncated HMAC-SHA256 of the normalised value under PII_HASH_KEY, so the same
person still counts as one client across events while nobody can read the address back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

PSEUDONYM = re.compile(r"^pii:[0-9a-f]{32}$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PII_FIELDS = frozenset({"email", "phone", "client_email", "client_phone", "recipient", "from_email", "to_email"})


def pseudonym(value: str, key: bytes) -> str:
    """The stable pseudonym of an email address or phone number (case and formatting do not matter)."""
    if PSEUDONYM.match(value):
        return value
    normalised = value.strip().lower()
    if "@" not in normalised:
        normalised = re.sub(r"[^0-9+]", "", normalised)
    return "pii:" + hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:32]


def scrub(value: Any, key: bytes, *, field: str | None = None) -> Any:
    """A copy of `value` with PII fields pseudonymised and email addresses in any other text replaced."""
    if isinstance(value, dict):
        return {k: scrub(v, key, field=k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, key, field=field) for v in value]
    if isinstance(value, str):
        if field in PII_FIELDS:
            return pseudonym(value, key)
        if "@" in value:
            return _EMAIL.sub(lambda m: pseudonym(m.group(0), key), value)
    return value
