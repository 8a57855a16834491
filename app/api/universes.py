"""Named universes: PUT (define or replace), GET one, GET the list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from app.api.deps import SessionDep, require_write_key
from app.db import run_transaction
from app.errors import READ_ERRORS, WRITE_ERRORS, error_doc
from app.schemas_universe import UniverseDefinition, UniverseList, UniversePublic
from app.services.universes import define_universe, list_universes, universe_members

router = APIRouter(prefix="/v1", tags=["universes"])

UniverseName = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9_\-]{1,15}$", description="1-15 characters of A-Z a-z 0-9 _ -"),
]


@router.put(
    "/universes/{name}",
    response_model=UniversePublic,
    dependencies=[Depends(require_write_key)],
    responses=WRITE_ERRORS,
)
def put_universe(name: UniverseName, body: UniverseDefinition, request: Request) -> Any:
    """Define universe `name` as these stocks (each with bars), replacing what it held, in one
    transaction: then `kdtcn train-universe --universe NAME` trains its network."""
    return run_transaction(
        request.app.state.sessionmaker,
        lambda session: define_universe(session, name, body.members),
    )


@router.get(
    "/universes/{name}",
    response_model=UniversePublic,
    responses={**READ_ERRORS, 404: error_doc("No such universe")},
)
def get_universe(name: UniverseName, session: SessionDep) -> Any:
    """The stocks of universe `name`."""
    return universe_members(session, name)


@router.get("/universes", response_model=UniverseList, responses=READ_ERRORS)
def get_universes(session: SessionDep) -> Any:
    """Every stored universe (`all`, every symbol with news of its own, is not stored)."""
    return {"universes": list_universes(session)}
