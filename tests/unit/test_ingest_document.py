"""The fast reader of ingest bodies (orjson) gives every event the same judgement as the careful reader: a body
it cannot prove clean goes to the careful reader, which alone names what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.ingest import document

TRICKY = [
    b'{"events": [{"type": "app.action", "n": 1}]}',
    b'{"events": [{"type": "a", "type": "b"}]}',
    b'{"events": [{"k": 1, "\\u006b": 2}]}',
    b'{"events": [{"k": "\\u0000"}]}',
    b'{"events": [{"k\\u0000": 1}]}',
    b'{"events": [{"k": "\\ud800"}]}',
    b'{"events": [{"k": "\\ud83d\\ude00"}]}',
    b'{"events": [{"k": 123456789012345678901}]}',
    b'{"events": [{"k": -9223372036854775809}]}',
    b'{"events": [{"k": 18446744073709551615}]}',
    b'{"events": [{"k": 1e400}]}',
    b'{"events": [{"k": NaN}]}',
    b'{"events": [{"k": "a\\":b", "j": ":"}]}',
    b'{"events": [1, "x", null]}',
    b'{"events": [{"a": {"a": 1, "a": 2}}]}',
    b'{"events": [' + b'{"k":' * 17 + b"1" + b"}" * 17 + b"]}",
    b'{"events": [' + b'{"k":' * 15 + b"1" + b"}" * 15 + b"]}",
    b'{"events": [' + b"[" * 3000 + b"]" * 3000 + b"]}",
    b'{"type": "app.action", "data": {"x": [1, 2, {"y": 3}]}}',
    b'{"events": [], "events": [{"k": 1}]}',
    b"[1, 2]",
]


def _verdicts(body: document.Body) -> list[Any]:
    doc = body.document
    items = doc.get("events", [doc]) if isinstance(doc, dict) else [doc]
    out: list[Any] = []
    for judged in document.judge_all(body, items if isinstance(items, list) else [items]):
        if isinstance(judged, document.Unsafe):
            out.append(("unsafe", [r.type for r in judged.reasons], judged.text, judged.event_id))
        else:
            out.append(("event", json.dumps(judged, sort_keys=True)))
    return out


def _same_judgement(data: bytes) -> None:
    try:
        careful = document.careful(data)
    except document.NotJson:
        with pytest.raises(document.NotJson):
            document.parse(data)
        return
    fast = document.parse(data)
    assert _verdicts(fast) == _verdicts(careful)
    assert document.duplicate_keys(fast.document) == document.duplicate_keys(careful.document)


@pytest.mark.parametrize("data", TRICKY)
def test_the_fast_reader_judges_every_tricky_body_as_the_careful_reader_does(data: bytes) -> None:
    _same_judgement(data)


def test_a_plain_batch_is_read_by_the_fast_reader_and_a_duplicate_key_is_not() -> None:
    assert document.parse(b'{"events": [{"type": "app.action"}]}').clean
    assert not document.parse(b'{"events": [{"type": "a", "type": "b"}]}').clean


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["\x00", "\ud800", "k", "a\\u0000", '"', ":"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.lists(st.tuples(st.sampled_from("kab:\x00"), inner), max_size=4),
    max_leaves=30,
)


def _render(value: Any) -> str:
    """JSON text where a list of (key, value) pairs is an object, so keys can repeat."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return "{" + ",".join(json.dumps(k) + ":" + _render(v) for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_render(v) for v in value) + "]"
    return json.dumps(value)


@given(st.lists(_values, min_size=1, max_size=4))
def test_any_body_gets_the_same_judgement_from_the_fast_reader_as_from_the_careful_one(events: list[Any]) -> None:
    text = '{"events": [' + ",".join("{" + '"e":' + _render(e) + "}" for e in events) + "]}"
    _same_judgement(text.encode("utf-8", "surrogatepass"))
