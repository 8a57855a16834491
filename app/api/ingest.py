"""POST /v1/headlines and /v1/prices; GET /v1/ingest (the extraction backlog)."""

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
    """Store dated headlines in one transaction and answer at once; their events are
    extracted and linked after the commit (`pending` says how many wait; GET /v1/ingest)."""
    state = request.app.state
    result = store_headlines(factory=state.sessionmaker, items=batch.items)
    if result.pending and state.extractor is not None:
        state.extractor.wake()
    return result


@router.post("/prices", response_model=WriteResult)
def post_prices(batch: PriceBatch, request: Request) -> WriteResult:
    """Store daily OHLCV bars of one symbol in one transaction."""
    return run_transaction(
        request.app.state.sessionmaker,
        lambda session: store_prices(session=session, symbol=batch.symbol, items=batch.items),
    )
