"""The statistics behind the business alerts, on their own: Poisson tails, the seasonal baseline, the dip rule."""

from __future__ import annotations

import math

import pytest

from shared.monitor import alertrules, baselines


def test_poisson_tails_match_the_closed_form_and_sum_to_one() -> None:
    mean = 3.0
    exact = sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(2))
    assert baselines.poisson_at_most(1, mean) == pytest.approx(exact)
    for k in range(0, 15):
        assert baselines.poisson_at_most(k - 1, mean) + baselines.poisson_at_least(k, mean) == pytest.approx(1.0)
    assert baselines.poisson_at_least(60, 5.0) < 1e-30  # a far tail keeps its precision instead of becoming 0 - 1


def test_a_business_with_three_inquiries_a_week_does_not_alert_on_one_or_even_none() -> None:
    usual = baselines.weekly_baseline([3, 2, 4, 3, 3, 2, 4], [3, 3, 2, 4, 3, 3], 18.0)
    assert usual is not None and usual.expected == pytest.approx(3.0 * (18 + 1) / (18 + 1))
    for actual in (0, 1):
        assert not baselines.is_dip(actual, usual, p_value=0.01, drop_ratio=0.6, spread_factor=2.0)


def test_a_busy_week_far_below_its_season_is_a_dip_and_a_merely_quiet_one_is_not() -> None:
    usual = baselines.weekly_baseline([20, 22, 19, 24, 21, 18, 23, 20, 22], [21, 20, 23, 19, 22, 20], 125.0)
    assert usual is not None and usual.method == "seasonal"
    assert baselines.is_dip(4, usual, p_value=0.01, drop_ratio=0.6, spread_factor=2.0)
    assert not baselines.is_dip(15, usual, p_value=0.01, drop_ratio=0.6, spread_factor=2.0)


def test_recent_weeks_scale_the_seasonal_median_within_limits() -> None:
    seasonal = [10.0] * 9
    doubled = baselines.weekly_baseline(seasonal, [20.0] * 6, 59.0)
    assert doubled is not None and doubled.level == pytest.approx(2.0) and doubled.expected == pytest.approx(20.0)
    boom = baselines.weekly_baseline(seasonal, [100.0] * 6, 59.0)
    assert boom is not None and boom.level == baselines.LEVEL_CLIP[1]


def test_without_prior_years_the_recent_weeks_alone_make_the_baseline_and_too_little_history_makes_none() -> None:
    recent = baselines.weekly_baseline([], [8, 9, 10, 11], None)
    assert recent is not None and recent.method == "recent" and recent.expected == pytest.approx(9.5)
    assert baselines.weekly_baseline([5, 6], [8, 9, 10], None) is None


def test_thresholds_fall_back_to_defaults_and_refuse_unknown_or_out_of_range_values() -> None:
    assert alertrules.thresholds("business.inquiries", {"p_value": 0.001}).p_value == 0.001
    assert alertrules.thresholds("business.inquiries", {"p_value": 7}).p_value == 0.01  # invalid stored: defaults
    with pytest.raises(ValueError, match="unknown alert"):
        alertrules.alert_name("weather")
    assert alertrules.alert_name("balance_overdue") == "business.balance_overdue"
    with pytest.raises(ValueError, match="at most 366 days"):
        alertrules.parse_duration("60w")
