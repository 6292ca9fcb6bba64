"""What a booking still owes: the one definition of "outstanding" that the wedding axis (shared.metrics.weddings)
and the balance-overdue alert (shared.monitor.business) both use, over the same per-booking state."""

from __future__ import annotations


def outstanding(value_minor: int | None, paid_minor: int, refunded_minor: int, *, cancelled: bool = False) -> int:
    """Agreed value - (received - refunded), in the booking's currency and never below 0 (an overpayment does not
    reduce another booking's balance); a cancelled booking owes nothing, and a missing value counts as 0."""
    if cancelled:
        return 0
    return max((value_minor or 0) - (paid_minor - refunded_minor), 0)
