"""Five-field cron expressions (minute hour day-of-month month day-of-week), checked as pg_cron reads them.

Checking here, before anything ships, turns a typo in deploy.yaml into an error that names the field and the
allowed range, instead of a job pg_cron silently never runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_from: int = 0

    def allowed(self) -> str:
        text = f"{self.low}-{self.high}"
        if self.names:
            text += f" or {self.names[0].upper()}-{self.names[-1].upper()}"
        return text


FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, tuple(_MONTHS), 1),
    _Field("day of week", 0, 7, tuple(_DAYS), 0),
)
_TERM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


def _value(field: _Field, token: str) -> int:
    if token.isdigit():
        number = int(token)
    elif token in field.names:
        number = field.names.index(token) + field.names_from
    else:
        raise ValueError(f"{field.name}: '{token}' is not a number; allowed {field.allowed()}")
    if not field.low <= number <= field.high:
        raise ValueError(f"{field.name}: {number} is out of range; allowed {field.allowed()}")
    return number


def _check_field(field: _Field, text: str) -> None:
    for term in text.lower().split(","):
        match = _TERM.match(term)
        if match is None:
            raise ValueError(
                f"{field.name}: '{term}' is not a cron term; use *, N, N-M, */S or N-M/S, "
                f"comma-separated, with N in {field.allowed()}"
            )
        if match["step"] is not None and int(match["step"]) == 0:
            raise ValueError(f"{field.name}: the step in '{term}' must be at least 1")
        if match["range"] == "*":
            continue
        low, _, high = match["range"].partition("-")
        first = _value(field, low)
        if high and _value(field, high) < first:
            raise ValueError(f"{field.name}: the range '{match['range']}' runs backwards")


def check(expression: str) -> str:
    """Return the expression with its spacing normalised, or raise ValueError saying which field is wrong."""
    parts = expression.split()
    if len(parts) != len(FIELDS):
        raise ValueError(
            f"'{expression}' has {len(parts)} field(s); a cron schedule has exactly 5: "
            "minute hour day-of-month month day-of-week (in UTC), e.g. '*/15 * * * *'"
        )
    for field, part in zip(FIELDS, parts, strict=True):
        _check_field(field, part)
    return " ".join(parts)


def _expand(field: _Field, text: str) -> set[int]:
    values: set[int] = set()
    for term in text.lower().split(","):
        match = _TERM.match(term)
        assert match is not None  # check() ran first
        step = int(match["step"] or 1)
        if match["range"] == "*":
            low, high = field.low, field.high
        else:
            first, _, last = match["range"].partition("-")
            low = _value(field, first)
            high = _value(field, last) if last else (field.high if match["step"] else low)
        values.update(range(low, high + 1, step))
    return values


def matches(expression: str, moment: datetime) -> bool:
    """Whether a cron schedule fires in the minute of `moment` (UTC), as pg_cron and Vixie cron read it:
    when both day of month and day of week are restricted, either one matching is enough."""
    minute, hour, dom, month, dow = check(expression).split()
    moment = moment.astimezone(UTC)
    if moment.minute not in _expand(FIELDS[0], minute) or moment.hour not in _expand(FIELDS[1], hour):
        return False
    if moment.month not in _expand(FIELDS[3], month):
        return False
    weekdays = {d % 7 for d in _expand(FIELDS[4], dow)}  # 7 is Sunday too
    on_dom = moment.day in _expand(FIELDS[2], dom)
    on_dow = (moment.isoweekday() % 7) in weekdays
    if dom != "*" and dow != "*":
        return on_dom or on_dow
    return on_dom and on_dow
