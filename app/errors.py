"""Error bodies: every error is JSON that says what went wrong and, for input, names the field.

One shape for all of them (`ErrorBody`): `{"detail": "...", "errors": [{"field", "message",
"index"?}]}`, `errors` present for invalid input only. The OpenAPI document describes the same
shape (`WRITE_ERRORS`, `READ_ERRORS`), so clients and fuzzers see what the service answers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import DatabaseBusy
from app.domain import DomainError, InvalidInput, VersionPending

__all__ = [
    "ErrorBody",
    "ErrorItem",
    "READ_ERRORS",
    "WRITE_ERRORS",
    "error_doc",
    "field_path",
    "install_error_handlers",
]

log = logging.getLogger(__name__)

REJECTED_WRITE = "request rejected; nothing was written"
REJECTED_READ = "invalid request"
DATABASE_UNAVAILABLE = "database unavailable; try again later"
RETRY_AFTER_SECONDS = 2


class ErrorItem(BaseModel):
    """One problem of invalid input: the field it concerns (e.g. "items[3].open"), what is
    wrong, and for a batch item the item's index."""

    field: str
    message: str
    index: int | None = None


class ErrorBody(BaseModel):
    """The body of every error response: what went wrong, and for invalid input one item
    per problem."""

    detail: str
    errors: list[ErrorItem] | None = None
    job: dict[str, Any] | None = Field(
        default=None,
        description="503 while the answering version is still to be trained: the training "
        "job (id, symbol, target, model, cut, status, attempts); retry after Retry-After",
    )


def error_doc(description: str) -> dict[str, Any]:
    """A FastAPI `responses` entry: an `ErrorBody` documented with this description."""
    return {"model": ErrorBody, "description": description}


_COMMON: dict[int | str, dict[str, Any]] = {
    500: error_doc("Internal error (JSON body; the connection stays usable)"),
    503: error_doc(
        "Database unavailable or busy, or the version that answers still queued for training "
        "(`job` names it); retry after the Retry-After header's seconds"
    ),
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    422: error_doc("Invalid query or path parameter, or too little data; the field is named"),
    **_COMMON,
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: error_doc("Missing or wrong X-API-Key (when the service has a key)"),
    413: error_doc("Request body larger than the documented limit"),
    422: error_doc(
        "Invalid batch: an error per bad item naming its index and field; nothing written"
    ),
    **_COMMON,
}


def field_path(loc: tuple | list) -> str:
    """("body", "items", 3, "open") -> "items[3].open"."""
    parts = [p for p in loc if p not in ("body", "query", "path")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def error_response(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    job: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    if job is not None:
        body["job"] = job
    return JSONResponse(status_code=status, content=body, headers=dict(headers or {}) or None)


def _validation_items(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            position = loc[-1] if loc and isinstance(loc[-1], int) else "?"
            message = f"malformed JSON ({err.get('ctx', {}).get('error', 'decode error')}"
            errors.append({"field": "body", "message": f"{message} at character {position})"})
            continue
        item: dict[str, Any] = {"field": field_path(loc), "message": err.get("msg", "invalid")}
        index = next((p for p in loc if isinstance(p, int)), None)
        if index is not None and "items" in loc:
            item["index"] = index
        errors.append(item)
    return errors


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of `app` with an `ErrorBody`: 422 for invalid input (an item per
    problem), a domain error with its own status, 503 with Retry-After when the database is
    busy with lock conflicts or unavailable, and HTTP errors with their status and detail."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        return error_response(
            422, REJECTED_WRITE if writes else REJECTED_READ, _validation_items(exc)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        if isinstance(exc, InvalidInput):
            item = {"field": exc.field, "message": str(exc)}
            return error_response(exc.status, REJECTED_READ, [item])
        if isinstance(exc, VersionPending):
            headers = {"Retry-After": str(exc.retry_after)}
            return error_response(exc.status, str(exc), headers=headers, job=exc.job)
        return error_response(exc.status, str(exc))

    @app.exception_handler(DatabaseBusy)
    async def _busy(request: Request, exc: DatabaseBusy) -> JSONResponse:
        log.warning("503 busy on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "database busy with conflicting writes; this transaction was rolled back, retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The exception's text is not logged: it may carry connection details.
        log.warning(
            "503 database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return error_response(
            503, DATABASE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )

    for exc_type in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(exc_type, _unavailable)
