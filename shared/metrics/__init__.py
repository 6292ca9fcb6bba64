"""The metric layer the dashboard and the reports read: the registry of business metrics, windows in the
organization's zone, sums over the rollup tiers, and the funnel, cohort and lead-time views.
"""

__all__ = [
    "balances",
    "definitions",
    "funnels",
    "fx",
    "home",
    "registry",
    "rollups",
    "seasons",
    "timeframes",
    "weddings",
]
