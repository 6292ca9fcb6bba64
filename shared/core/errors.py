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


# Conditions of the database or of a deploy, not of the data: the same statement can succeed later.
_TRANSIENT_CONFLICT = (pgerrors.SerializationFailure, pgerrors.DeadlockDetected)
_TRANSIENT_TIMEOUT = (pgerrors.QueryCanceled, pgerrors.IdleInTransactionSessionTimeout, pgerrors.LockNotAvailable)
_TRANSIENT_UNAVAILABLE = (
    psycopg.OperationalError,  # connection lost or refused; also class 08 and 57P01 admin shutdown
    psycopg.InterfaceError,  # the connection was closed under us
    pgerrors.AdminShutdown,
    pgerrors.CrashShutdown,
    pgerrors.CannotConnectNow,
    pgerrors.InsufficientResources,  # class 53: too many connections, out of memory or disk
    # A deploy in progress: the code runs before (or after) the migration that creates (or drops) what it calls.
    pgerrors.UndefinedFunction,
    pgerrors.UndefinedTable,
)


def from_driver(exc: psycopg.Error) -> PipelineError:
    """Map a psycopg error to the pipeline's error kinds, keeping the database's message.

    Transient: connection loss and shutdowns, serialization failures and deadlocks, statement, lock and idle
    timeouts, missing functions or tables (a deploy half done), exhausted resources. Everything else (the data
    broke a constraint, a type, a check) is terminal: DatabaseRejected.
    """
    detail = str(exc).strip() or None
    if isinstance(exc, _TRANSIENT_TIMEOUT):
        return DatabaseTimeout(detail)  # before OperationalError: QueryCanceled is one
    if isinstance(exc, _TRANSIENT_CONFLICT):
        return DatabaseConflict(detail)  # also before OperationalError
    if isinstance(exc, _TRANSIENT_UNAVAILABLE):
        return DatabaseUnavailable(detail)
    return DatabaseRejected(detail)


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` (ours or the driver's) is worth retrying as it is: a later attempt may succeed."""
    if isinstance(exc, psycopg.Error):
        exc = from_driver(exc)
    return isinstance(exc, PipelineError) and exc.transient
