"""Domain errors raised by services; `app.errors` maps each to its HTTP status in one place."""

from __future__ import annotations

from typing import Any

__all__ = [
    "DomainError",
    "InvalidInput",
    "NoModel",
    "NotEnoughHistory",
    "NotFound",
    "UnreadableModel",
    "VersionPending",
]


class DomainError(Exception):
    """A request the service understood but cannot answer; `status` is its HTTP code."""

    status = 400


class NotFound(DomainError, LookupError):
    """Unknown symbol, or no bar on the date a target needs."""

    status = 404


class NotEnoughHistory(DomainError, ValueError):
    """Fewer trading days before the date than the model's window needs."""

    status = 422


class NoModel(DomainError, LookupError):
    """No trained model version for this symbol and target (the message names the command)."""

    status = 409


class UnreadableModel(DomainError):
    """A recorded version whose saved files this code cannot read (the message names the
    command that rebuilds it)."""

    status = 503


class VersionPending(DomainError):
    """The version that answers is queued or being trained (app.services.jobs): retry after
    `retry_after` seconds; `job` names the training job."""

    status = 503

    def __init__(self, message: str, job: dict[str, Any], retry_after: int) -> None:
        """`job`: the job as `app.services.jobs.job_public` gives it."""
        super().__init__(message)
        self.job = job
        self.retry_after = retry_after


class InvalidInput(DomainError, ValueError):
    """Parameters valid one by one but not together; `field` names the one to change."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        """`field`: the parameter to change; `message`: what is wrong, for the client."""
        super().__init__(message)
        self.field = field
