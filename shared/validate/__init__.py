"""The validate stage: normalises queued events and stores each exactly once, dead-letters what fails on its own
content, hands stored events to aggregate; dead-letter replay and its HTTP routes. Runs as `validate`.
"""

__all__ = ["deadletter_routes", "replay", "validation"]
