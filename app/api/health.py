"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Any]


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: a check failed"}},
)
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, object] = {}
    try:
        with request.app.state.sessionmaker() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
    checks["pipeline"] = "loaded" if request.app.state.pipeline is not None else "not loaded"
    registry = getattr(request.app.state, "registry", None)
    checks["models"] = registry.summary() if registry is not None else []
    ready = checks["database"] == "ok" and request.app.state.pipeline is not None
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
