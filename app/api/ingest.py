"""POST /v1/headlines and /v1/prices."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.api.deps import require_write_key
from app.db import run_transaction
from app.errors import WRITE_ERRORS
from app.schemas import HeadlineBatch, PriceBatch, WriteResult
from app.services.headlines import store_headlines
from app.services.prices import store_prices

router = APIRouter(
    prefix="/v1",
    tags=["ingestion"],
    dependencies=[Depends(require_write_key)],
    responses=WRITE_ERRORS,
)


@router.post("/headlines", response_model=WriteResult)
def post_headlines(batch: HeadlineBatch, request: Request) -> WriteResult:
    """Store dated headlines in one transaction, then extract and link their events."""
    state = request.app.state
    return store_headlines(factory=state.sessionmaker, items=batch.items, pipeline=state.pipeline)


@router.post("/prices", response_model=WriteResult)
def post_prices(batch: PriceBatch, request: Request) -> WriteResult:
    """Store daily OHLCV bars of one symbol in one transaction."""
    return run_transaction(
        request.app.state.sessionmaker,
        lambda session: store_prices(session=session, symbol=batch.symbol, items=batch.items),
    )
