"""GET /v1/models."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.errors import READ_ERRORS
from app.schemas_public import ModelList, model_version_public
from app.services.jobs import progress
from app.services.model_versions import list_versions
from kg.graph import SNAPSHOT

router = APIRouter(prefix="/v1", tags=["models"], responses=READ_ERRORS)


@router.get("/models", response_model=ModelList)
def get_models(session: SessionDep) -> dict:
    """Trained model versions, newest first, with their validation metrics, the symbols they
    serve, and where the background training stands (`training`: jobs done, queued, running,
    failed, and an estimate of the seconds left)."""
    rows = list_versions(session=session)
    return {
        "symbols": sorted({row.symbol for row in rows}),
        "training": progress(session),
        "knowledge": {
            **SNAPSHOT,
            "left_out": "Wikimedia's own pages (categories, list articles, templates, "
            "portals, project pages): facts about Wikipedia, not the world",
        },
        "models": [model_version_public(row) for row in rows],
    }
