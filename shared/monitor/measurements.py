"""What a data quality check produces: one `CheckResult` per measured subject, with its verdict.

The checks (`checks`, `infrastructure`) produce these and `quality` stores them; both sides import this small
module, so neither needs the other. Global checks (not about one organization) are stored under `GLOBAL`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

Status = Literal["pass", "warn", "fail"]
# Global checks (not about one organization) are stored under the nil UUID, which no organization has.
GLOBAL = UUID(int=0)
CHECKS = (
    "freshness",
    "volume",
    "rejection_rate",
    "duplicate_rate",
    "schema_drift",
    "reconciliation",
    "queue_age",
    "queue_depth",
    "queue_over_retry_limit",
    "partitions_ahead",
    "table_size",
    "queue_dead_tuples",
)


class CheckResult(BaseModel):
    """One measurement: what was checked, for whom, the value against its threshold and the verdict."""

    organization_id: UUID = Field(description="The organization, or the nil UUID for global checks")
    check: str = Field(description="The check's name, one of measurements.CHECKS")
    subject: str = Field(default="", description="What within the check: a source, source/type, queue or table")
    status: Status
    value: float | None = Field(description="The measured value (None when nothing could be measured)")
    threshold: float | None = Field(description="The threshold the value was compared with")
    unit: str = ""
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)
    checked_at: datetime
    status_since: datetime | None = Field(
        default=None, description="Since when the status has been this one (set on stored latest results)"
    )


def result(
    org: UUID,
    check: str,
    subject: str,
    status: Status,
    value: float | None,
    threshold: float | None,
    unit: str,
    message: str,
    now: datetime,
    **detail: Any,
) -> CheckResult:
    """A CheckResult from its fields in their usual order, as every check builds many."""
    return CheckResult(
        organization_id=org,
        check=check,
        subject=subject,
        status=status,
        value=value,
        threshold=threshold,
        unit=unit,
        message=message,
        detail=detail,
        checked_at=now,
    )
