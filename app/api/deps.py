"""Request dependencies: a transactional session, the answer service, the pipeline, the
write guard."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.orm import Session

from app.services.answers import Answers
from app.settings import Settings

__all__ = ["AnswersDep", "SessionDep", "SettingsDep", "require_write_key", "get_pipeline"]


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with (async: it only reads the app's state, so it
    runs on the event loop; a plain function would take a worker thread on every request)."""
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed if the handler returns, rolled back if it raises.

    Used with scope="function" so the commit happens before the response is sent: a client
    that got 200 can read its write back, and a failed commit is an error, not a 200.
    """
    with request.app.state.sessionmaker() as session, session.begin():
        yield session


async def get_answers(request: Request) -> Answers:
    """The process's answer service (predictions, explanations, backtests; cached). Async:
    it only reads the app's state, so it runs on the event loop, not a worker thread."""
    answers: Answers = request.app.state.answers
    return answers


def get_pipeline(request: Request):  # type: ignore[no-untyped-def]
    """The knowledge pipeline loaded by the lifespan (None when the app was created without
    one)."""
    return request.app.state.pipeline


def require_write_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Reject the request with 401 unless the X-API-Key header equals the configured
    `api_key` (compared in constant time); with no key configured, every request passes."""
    expected = request.app.state.settings.api_key
    if expected and not (x_api_key and secrets.compare_digest(x_api_key, expected)):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header")


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
AnswersDep = Annotated[Answers, Depends(get_answers)]
