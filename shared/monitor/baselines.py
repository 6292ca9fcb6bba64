"""The statistics of the business alerts: robust centres and spreads, Poisson tails, and the seasonal baseline.

Pure functions with no database, so the method docs/alerts.md states is tested on its own.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MAD_TO_SD = 1.4826  # MAD x this estimates the standard deviation of normally distributed data
LEVEL_CLIP = (0.5, 2.0)  # how far recent weeks may move the seasonal baseline, either way
MIN_SEASONAL_WINDOWS = 3
MIN_RECENT_WINDOWS = 4


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def mad(values: Sequence[float]) -> float:
    """The median absolute deviation from the median."""
    centre = median(values)
    return median([abs(v - centre) for v in values])


def _log_pmf(k: int, mean: float) -> float:
    return k * math.log(mean) - mean - math.lgamma(k + 1)


def poisson_at_most(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean)."""
    if k < 0:
        return 0.0
    if mean <= 0:
        return 1.0
    return min(1.0, math.fsum(math.exp(_log_pmf(i, mean)) for i in range(k + 1)))


def poisson_at_least(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), summed from k upwards so that small tails keep their precision."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    total, i = 0.0, k
    while True:
        term = math.exp(_log_pmf(i, mean))
        total += term
        if i > mean and term < total * 1e-17:
            return min(1.0, total)
        i += 1


@dataclass(frozen=True)
class Baseline:
    """What a week usually brings: `expected` (the Poisson mean tested against) and `spread` (a robust standard
    deviation of the history), and which history made it."""

    expected: float
    spread: float
    method: str  # "seasonal" or "recent"
    level: float  # the recent-weeks level factor applied to the seasonal median (1 for "recent")
    windows: int


def weekly_baseline(
    seasonal: Sequence[float], recent: Sequence[float], recent_year_ago: float | None
) -> Baseline | None:
    """The expected count of a 7-day window from the organization's own history, or None with too little of it.

    `seasonal`: counts of the same 7-day windows (and the weeks around them) in prior years; `recent`: the weeks
    just before the window; `recent_year_ago`: the total of those recent weeks' counterparts in prior years
    (mean over the years that have them all; None when none do). With at least 3 seasonal windows: the seasonal median x a level factor (this year's recent weeks
    against the same weeks of the prior years, +1 smoothed, clipped to 0.5-2), spread = 1.4826 MAD x level.
    Otherwise, with at least 4 recent weeks: their median and 1.4826 MAD. Otherwise None (still learning).
    """
    if len(seasonal) >= MIN_SEASONAL_WINDOWS:
        level = 1.0
        if recent and recent_year_ago is not None:
            raw = (sum(recent) + 1.0) / (recent_year_ago + 1.0)
            level = min(LEVEL_CLIP[1], max(LEVEL_CLIP[0], raw))
        return Baseline(
            expected=median(seasonal) * level,
            spread=MAD_TO_SD * mad(seasonal) * level,
            method="seasonal",
            level=level,
            windows=len(seasonal),
        )
    if len(recent) >= MIN_RECENT_WINDOWS:
        return Baseline(
            expected=median(recent), spread=MAD_TO_SD * mad(recent), method="recent", level=1.0, windows=len(recent)
        )
    return None


def is_dip(actual: int, baseline: Baseline, *, p_value: float, drop_ratio: float, spread_factor: float) -> bool:
    """Whether `actual` is well below the baseline: unlikely under Poisson noise around the expected count
    (P(X <= actual) < p_value), at most drop_ratio of it, and below expected - spread_factor x spread."""
    return (
        poisson_at_most(actual, baseline.expected) < p_value
        and actual <= drop_ratio * baseline.expected
        and actual < baseline.expected - spread_factor * baseline.spread
    )
