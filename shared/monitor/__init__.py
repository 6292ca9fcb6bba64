"""The monitor and retention functions: data-quality checks and their history, incidents and alerts, retention
of raw events and erasure of one client.
"""

__all__ = [
    "alert_routes",
    "alertrules",
    "alerts",
    "baselines",
    "business",
    "checks",
    "erasure",
    "infrastructure",
    "measurements",
    "quality",
    "reconciliation",
    "retention",
    "settings",
]
