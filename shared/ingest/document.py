"""Reading an ingest body: strict JSON per event, so one hostile event never costs the others.

Python's `json` accepts what PostgreSQL's jsonb and our catalog do not: NaN and Infinity, numbers out of range,
duplicate keys (the last wins silently), NUL characters and unpaired UTF-16 surrogates, and nesting deep enough
to exhaust the interpreter's stack. Here the body is parsed once with hooks that mark those instead of failing,
then each event is walked (without recursion) and, if marked, set aside as `Unsafe` with a reason per finding
and an ASCII rendering of exactly what was sent, which jsonb can always hold.
Only a body that is not JSON at all (bad syntax, not UTF-8) is refused as a whole.

Nearly every body has none of that, so it is first read with orjson and proven clean in one walk of its
containers (no NUL or surrogate escape, no integer beyond 64 bits, no key twice, not deep); anything
else takes the careful path above, which alone decides what is wrong.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from shared.core import deadletters

MAX_DEPTH = 16  # levels of nesting inside one event (the event object is level 1); the catalog needs 2
_MAX_INT_DIGITS = 20
_HOSTILE_TEXT = re.compile("[\x00\ud800-\udfff]")
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
# Escapes the fast reader would read differently from the careful one (NUL and surrogates); seen anywhere,
# even inside a string, the careful reader decides.
_FAST_UNSURE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
# orjson reads an integer beyond 64 bits as a float: any float this large may have been one.
_FLOAT_LIMIT = 2.0**63


class NotJson(ValueError):
    """The body is not JSON text: nothing in it can be judged event by event."""


@dataclass(frozen=True)
class _Number:
    """A number jsonb cannot hold (NaN, Infinity, beyond a double, too many digits), as it was written."""

    text: str


class _Object(dict[str, Any]):
    """A JSON object that remembers its pairs in order, duplicates included."""

    pairs: list[tuple[str, Any]]


@dataclass(frozen=True)
class Unsafe:
    """An event the catalog never sees: why, and its text escaped to ASCII so it can be stored as it came."""

    reasons: list[deadletters.Reason]
    text: str
    event_id: str | None
    event_type: str | None


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    obj.pairs = pairs
    return obj


def _float(text: str) -> float | _Number:
    value = float(text)
    return value if value not in (float("inf"), float("-inf")) else _Number(text)


def _int(text: str) -> int | _Number:
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else _Number(text)


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_pairs, parse_constant=_Number, parse_float=_float, parse_int=_int)


def _flatten_deep(text: str, limit: int) -> tuple[str, dict[str, str]]:
    """`text` with every container opened deeper than `limit` replaced by a unique string (and the originals).

    Only needed when the nesting is too deep for the json module's recursion; scans tokens, never recurses.
    """
    out: list[str] = []
    cut: dict[str, str] = {}
    depth, start, last = 0, -1, 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth == limit + 1:
                start = match.start()
        elif token in "]}":
            if depth == limit + 1 and start >= 0:
                marker = "deep-" + secrets.token_hex(16)
                cut[marker] = text[start : match.end()]
                out.append(text[last:start] + json.dumps(marker))
                last, start = match.end(), -1
            depth -= 1
    out.append(text[last:])
    return "".join(out), cut


@dataclass(frozen=True)
class Body:
    """The parsed body: the JSON document (events needing isolation still inside) and what was cut away.
    `clean` says no part of the document has anything `judge` would find."""

    document: Any
    cut: dict[str, str]
    clean: bool = False


def _clean(document: Any, keys_in_text: int) -> bool:
    """No container deeper than MAX_DEPTH, no float that may have been a large integer, and as many keys in the
    parsed objects as in the text (so none twice)."""
    keys = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(value, dict):
            keys += len(value)
            value = value.values()
        for item in value:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
            elif type(item) is float and not -_FLOAT_LIMIT < item < _FLOAT_LIMIT:
                return False
    return keys == keys_in_text


def _fast(data: bytes) -> Body | None:
    """The body read by orjson when it is proven clean; None when the careful reader must decide.

    Outside strings a quote is always followed by a colon when it closes a key; inside one, a quote is escaped.
    So without the text `\\":` the count of `":` is the count of keys written without a space before the colon
    (one written with a space makes the counts differ, and the careful reader decides)."""
    if b'\\":' in data or (b"\\u" in data and _FAST_UNSURE.search(data)):
        return None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict | list):
        return None
    return Body(document, {}, clean=True) if _clean(document, data.count(b'":')) else None


def parse(data: bytes) -> Body:
    """Parse a body leniently enough to judge its events one by one; raises NotJson when it is not JSON."""
    return _fast(data) or careful(data)


def careful(data: bytes) -> Body:
    """`parse` without the fast reader: every oddity kept in the document for `judge` to find."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    cut: dict[str, str] = {}
    try:
        try:
            document = _loads(text)
        except RecursionError:
            flat, cut = _flatten_deep(text, MAX_DEPTH + 2)  # the batch envelope adds two levels
            document = _loads(flat)
    except RecursionError:
        raise NotJson("the body is nested too deeply to read") from None
    except ValueError as exc:
        raise NotJson(f"the body is not valid JSON: {exc}") from None
    return Body(document, cut)


def duplicate_keys(value: Any) -> list[str]:
    """Keys that appear more than once in this object (for the batch envelope itself)."""
    keys = [k for k, _ in getattr(value, "pairs", [])]
    return sorted({k for k in keys if keys.count(k) > 1})


def _shown(key: str) -> str:
    return json.dumps(key)[1:-1] if _HOSTILE_TEXT.search(key) else key


def _findings(event: Any, cut: dict[str, str]) -> Iterator[deadletters.Reason]:
    stack: list[tuple[Any, list[str | int], int]] = [(event, [], 1)]
    while stack:
        value, loc, depth = stack.pop()
        if isinstance(value, _Number):
            yield deadletters.Reason(
                loc=loc,
                msg=f"is {value.text[:40]}: numbers must be finite, within a double's range and at most "
                f"{_MAX_INT_DIGITS} digits (NaN and Infinity are not JSON)",
                type="non_finite_number",
            )
        elif isinstance(value, str):
            if value in cut:
                yield deadletters.Reason(
                    loc=loc, msg=f"is nested too deeply: an event nests at most {MAX_DEPTH} levels", type="too_deep"
                )
            else:
                yield from _text_findings(value, loc, "value")
        elif isinstance(value, dict | list) and depth > MAX_DEPTH:
            yield deadletters.Reason(
                loc=loc, msg=f"is nested too deeply: an event nests at most {MAX_DEPTH} levels", type="too_deep"
            )
        elif isinstance(value, dict):
            pairs: list[tuple[str, Any]] = getattr(value, "pairs", list(value.items()))
            counts: dict[str, int] = {}
            for key, _ in pairs:
                counts[key] = counts.get(key, 0) + 1
            for key, count in counts.items():
                if count > 1:
                    yield deadletters.Reason(
                        loc=[*loc, _shown(key)],
                        msg=f"appears {count} times in one object: each key at most once",
                        type="duplicate_key",
                    )
            for key, item in reversed(pairs):
                yield from _text_findings(key, [*loc, _shown(key)], "key")
                stack.append((item, [*loc, _shown(key)], depth + 1))
        elif isinstance(value, list):
            stack.extend((item, [*loc, i], depth + 1) for i, item in reversed(list(enumerate(value))))


def _text_findings(text: str, loc: list[str | int], what: str) -> Iterator[deadletters.Reason]:
    if "\x00" in text:
        yield deadletters.Reason(
            loc=loc, msg=f"the {what} contains a NUL character (\\u0000), never allowed in text", type="nul_character"
        )
    if re.search("[\ud800-\udfff]", text):
        yield deadletters.Reason(
            loc=loc,
            msg=f"the {what} contains an unpaired UTF-16 surrogate: text must be valid Unicode",
            type="lone_surrogate",
        )


def _ascii(text: str) -> str:
    return re.sub(r"[^\x00-\x7f]", lambda m: json.dumps(m.group())[1:-1], text)


def render(value: Any, cut: dict[str, str]) -> str:
    """The JSON text of a parsed value as it was sent (duplicates, NaN, cut-off depths), in ASCII."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw | _Number):
            out.append(item.text)
        elif isinstance(item, str) and item in cut:
            out.append(_ascii(cut[item]))
        elif isinstance(item, dict):
            pairs: list[tuple[str, Any]] = getattr(item, "pairs", list(item.items()))
            parts: list[Any] = [_Raw("{")]
            for i, (key, inner) in enumerate(pairs):
                parts += [_Raw(("," if i else "") + json.dumps(key) + ":"), inner]
            stack.extend(reversed([*parts, _Raw("}")]))
        elif isinstance(item, list):
            parts = [_Raw("[")]
            for i, inner in enumerate(item):
                parts += [_Raw(",")] if i else []
                parts.append(inner)
            stack.extend(reversed([*parts, _Raw("]")]))
        else:
            out.append(json.dumps(item))
    return "".join(out)


@dataclass(frozen=True)
class _Raw:
    text: str


def _clean_str(value: Any) -> str | None:
    return value if isinstance(value, str) and not _HOSTILE_TEXT.search(value) and len(value) <= 256 else None


def judge_all(body: Body, events: Sequence[Any]) -> list[Any]:
    """`judge` of each event of the body; events of a body proven clean need no walk of their own."""
    if body.clean:
        return [event if isinstance(event, dict) else judge(event, body.cut) for event in events]
    return [judge(event, body.cut) for event in events]


def judge(event: Any, cut: dict[str, str]) -> Any:
    """The event itself when the catalog can judge it safely; otherwise an `Unsafe` saying why."""
    if not isinstance(event, dict):
        reasons = [deadletters.Reason(loc=[], msg="must be an event object ({...})", type="model_type")]
    else:
        reasons = list(_findings(event, cut))
        if not reasons:
            return event
    fields = event if isinstance(event, dict) else {}
    return Unsafe(reasons, render(event, cut), _clean_str(fields.get("event_id")), _clean_str(fields.get("type")))
