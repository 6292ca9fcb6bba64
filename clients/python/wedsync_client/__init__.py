"""WedSync Analytics sender client: batches events to `POST /v1/events` and never loses or doubles one.

Needs only the standard library, so any Python service can install it without the pipeline's
server dependencies.
"""

from __future__ import annotations

from wedsync_client.aio import AsyncSender
from wedsync_client.batching import Limits, TooLarge
from wedsync_client.client import AsyncClient, Client
from wedsync_client.events import event
from wedsync_client.outcome import Failure, Rejection, Report
from wedsync_client.policy import Backoff
from wedsync_client.sender import Sender

__all__ = [
    "AsyncClient",
    "AsyncSender",
    "Backoff",
    "Client",
    "Failure",
    "Limits",
    "Rejection",
    "Report",
    "Sender",
    "TooLarge",
    "event",
]
