"""GET /v1/backtest: point-in-time predictions over a range, their skill and their returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.api.deps import SessionDep
from app.api.predictions import InSampleQuery, SymbolPath, TargetQuery
from app.domain import InvalidInput
from app.errors import READ_ERRORS, error_doc
from app.schemas import BoundedDate
from app.schemas_public import BacktestPublic
from app.services.plots import equity_png
from app.settings import DEFAULT_COST_BPS
from models.targets import DEFAULT_TARGET

router = APIRouter(
    prefix="/v1",
    tags=["backtest"],
    responses={
        **READ_ERRORS,
        404: error_doc("Unknown symbol, or no trading day in the range"),
        409: error_doc("A day of the range has no out-of-sample version; names the command"),
    },
)

StartQuery = Annotated[BoundedDate, Query(description="First predicted day (ISO date)")]
EndQuery = Annotated[BoundedDate, Query(description="Last predicted day (ISO date)")]
CostQuery = Annotated[
    float, Query(ge=0, le=1000, description="Cost in basis points per unit change of position")
]


def _backtest(
    request: Request,
    session: Any,
    symbol: str,
    start: dt.date,
    end: dt.date,
    target: str,
    cost_bps: float,
    allow_in_sample: bool,
) -> dict[str, Any]:
    if end < start:
        raise InvalidInput("end", f"end {end} is before start {start}")
    return request.app.state.answers.backtest(
        session,
        symbol=symbol,
        start=start,
        end=end,
        target=target,
        cost_bps=cost_bps,
        allow_in_sample=allow_in_sample,
    )


@router.get("/backtest/{symbol}", response_model=BacktestPublic)
def get_backtest(
    request: Request,
    session: SessionDep,
    symbol: SymbolPath,
    start: StartQuery,
    end: EndQuery,
    target: TargetQuery = DEFAULT_TARGET,
    cost_bps: CostQuery = DEFAULT_COST_BPS,
    allow_in_sample: InSampleQuery = False,
) -> dict[str, Any]:
    """For each trading day the prediction served then (P(up), the version) and the realised
    move; over the range the skill next to always-up and reversal, and the returns of
    trading the calls net of costs against buy-and-hold (tradable targets)."""
    return _backtest(request, session, symbol, start, end, target, cost_bps, allow_in_sample)


@router.get("/backtest/{symbol}/equity.png", response_class=Response)
def get_backtest_png(
    request: Request,
    session: SessionDep,
    symbol: SymbolPath,
    start: StartQuery,
    end: EndQuery,
    target: TargetQuery = DEFAULT_TARGET,
    cost_bps: CostQuery = DEFAULT_COST_BPS,
    allow_in_sample: InSampleQuery = False,
) -> Response:
    """The equity curves of the backtest (PNG)."""
    body = _backtest(request, session, symbol, start, end, target, cost_bps, allow_in_sample)
    return Response(equity_png(body), media_type="image/png")
