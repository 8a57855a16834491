"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.services.jobs import progress
from app.services.model_versions import count_by_target

router = APIRouter(tags=["health"])

NO_MODEL = (
    "no model version recorded; train one per target with "
    "`kdtcn train --symbol DJIA --model kdtcn --target next_day` (and --target same_day), "
    "or start with `kdtcn serve`, which trains them on a first start"
)


class Readiness(BaseModel):
    """The readiness body: whether the service can serve a prediction, and each check."""

    ready: bool
    checks: dict[str, Any]


@router.get("/healthz")
async def healthz() -> dict:
    """Liveness: the process answers HTTP (the lifespan, which loads the pipeline, is done).
    Async: it touches nothing that blocks, so it takes no worker thread."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: a check failed"}},
)
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers, the knowledge pipeline is loaded and at least one
    model version is recorded, so a prediction can be served.

    `checks.models` holds `recorded`, the number of versions per target in the
    `model_versions` table, and `loaded`, the versions the registry holds in memory (loading
    is lazy: a version is loaded by the first prediction of its target, so `loaded` may be
    empty on a ready service). "Recorded" means a row in `model_versions`; its artifact file
    is not opened here. With no version recorded, `checks.models.error` names the command
    that trains one.

    `checks.training` says where the background training stands (app.services.jobs): jobs
    `done`, `queued`, `running` and `failed`, the mean seconds of a job and an estimate of the
    seconds left. The service is ready as soon as one version is recorded; a prediction whose
    version is still queued answers 503 with Retry-After, naming its job.
    """
    checks: dict[str, object] = {}
    models: dict[str, object] = {"recorded": {}, "loaded": []}
    try:
        with request.app.state.sessionmaker() as session:
            session.execute(text("SELECT 1"))
            checks["database"] = "ok"
            models["recorded"] = count_by_target(session=session)
            checks["training"] = progress(session)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        if "database" in checks:
            models["error"] = f"error: {type(exc).__name__}"
        else:
            checks["database"] = f"error: {type(exc).__name__}"
            models["error"] = "unknown: the database is unavailable"
    checks["pipeline"] = "loaded" if request.app.state.pipeline is not None else "not loaded"
    registry = getattr(request.app.state, "registry", None)
    models["loaded"] = registry.summary() if registry is not None else []
    if "error" not in models and not models["recorded"]:
        models["error"] = NO_MODEL
    checks["models"] = models
    ready = (
        checks["database"] == "ok"
        and request.app.state.pipeline is not None
        and "error" not in models
    )
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
