"""Our own exceptions, each marked transient (retry later) or terminal (dead-letter / refuse)."""

from __future__ import annotations

from typing import ClassVar

import psycopg
from psycopg import errors as pgerrors


class PipelineError(Exception):
    """A pipeline step failed."""

    transient: ClassVar[bool] = False

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.__class__.__name__).strip())


class DatabaseUnavailable(PipelineError):
    """The database could not be reached or dropped the connection; try again."""

    transient = True


class DatabaseConflict(PipelineError):
    """A serialization failure or deadlock; the transaction can be retried as it is."""

    transient = True


class DatabaseTimeout(PipelineError):
    """The database cancelled a statement that ran past its time limit (or ended a transaction left idle past
    its limit); the data was not at fault, so try again later, perhaps with less at once."""

    transient = True


class DatabaseRejected(PipelineError):
    """The database refused the data (a constraint or type check); retrying will not help."""


class NotFound(PipelineError):
    """The requested record does not exist."""


class InvalidInput(PipelineError):
    """The input is not acceptable."""


def from_driver(exc: psycopg.Error) -> PipelineError:
    """Map a psycopg error to the pipeline's error kinds, keeping the database's message."""
    detail = str(exc).strip() or None
    if isinstance(exc, pgerrors.QueryCanceled | pgerrors.IdleInTransactionSessionTimeout):
        return DatabaseTimeout(detail)  # before OperationalError: QueryCanceled is one
    if isinstance(exc, psycopg.OperationalError | pgerrors.AdminShutdown | pgerrors.CannotConnectNow):
        return DatabaseUnavailable(detail)
    if isinstance(exc, pgerrors.SerializationFailure | pgerrors.DeadlockDetected | pgerrors.LockNotAvailable):
        return DatabaseConflict(detail)
    return DatabaseRejected(detail)
