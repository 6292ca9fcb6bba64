"""The refresh function: debounced, concurrent refreshes of the analytics materialized views."""

__all__ = ["settings", "views"]
