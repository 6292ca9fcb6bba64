"""The aggregate stage: folds stored events into exact rollups (15-minute and daily tiers) once each, corrects
them after erasure, and reconciles or rebuilds any window from the raw events. Runs as the `aggregate` function.
"""

__all__ = ["aggregation", "corrections", "recovery", "settings"]
