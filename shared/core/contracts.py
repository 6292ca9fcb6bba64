"""The queue-message contracts between stages: what one stage sends and the next one reads.

Both sides import the contract from here, so a consumer depends on the platform core and not on the stage that
produces its messages (aggregate reads what validate sends without importing validate).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class StoredEvents(BaseModel):
    """One queue message from validate to aggregate: the ids of events just stored for one organization."""

    organization_id: UUID
    ids: list[int]
    occurred_from: datetime
    occurred_to: datetime
