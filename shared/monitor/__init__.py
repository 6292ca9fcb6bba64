"""The monitor and retention functions: data-quality checks and their history, incidents and alerts, retention
of raw events and erasure of one client.
"""

__all__ = [
    "alerts",
    "checks",
    "erasure",
    "infrastructure",
    "measurements",
    "quality",
    "reconciliation",
    "retention",
    "settings",
]
