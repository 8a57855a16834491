"""POST /v1/headlines and /v1/prices."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.api.deps import SessionDep, require_write_key
from app.schemas import HeadlineBatch, PriceBatch, WriteResult
from app.services.headlines import store_headlines
from app.services.prices import store_prices

router = APIRouter(prefix="/v1", tags=["ingestion"], dependencies=[Depends(require_write_key)])


@router.post("/headlines", response_model=WriteResult)
def post_headlines(batch: HeadlineBatch, session: SessionDep, request: Request) -> WriteResult:
    """Store dated headlines and extract their events, all in one transaction."""
    return store_headlines(session=session, items=batch.items, pipeline=request.app.state.pipeline)


@router.post("/prices", response_model=WriteResult)
def post_prices(batch: PriceBatch, session: SessionDep, request: Request) -> WriteResult:
    """Store daily OHLCV bars of one symbol in one transaction."""
    return store_prices(session=session, symbol=batch.symbol, items=batch.items)
