"""GET /v1/backtest: point-in-time predictions over a range, their skill and their returns."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from app.api.deps import AnswersDep, SessionDep, SettingsDep
from app.api.predictions import (
    InSampleQuery,
    SymbolPath,
    TargetQuery,
    UniverseQuery,
    known_target,
)
from app.domain import InvalidInput
from app.errors import READ_ERRORS, error_doc
from app.schemas import BoundedDate
from app.schemas_backtest import BacktestPublic
from app.schemas_universe import UniverseBacktest
from app.services.answers import BacktestAsk
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


def backtest_ask(
    symbol: SymbolPath,
    start: StartQuery,
    end: EndQuery,
    target: TargetQuery = DEFAULT_TARGET,
    cost_bps: CostQuery = DEFAULT_COST_BPS,
    allow_in_sample: InSampleQuery = False,
) -> BacktestAsk:
    """The query of a backtest or its chart, checked once."""
    if end < start:
        raise InvalidInput("end", f"end {end} is before start {start}")
    return BacktestAsk(symbol, start, end, known_target(target), cost_bps, allow_in_sample)


BacktestAskDep = Annotated[BacktestAsk, Depends(backtest_ask)]


@router.get("/backtest/{symbol}", response_model=BacktestPublic)
def get_backtest(session: SessionDep, answers: AnswersDep, query: BacktestAskDep) -> dict[str, Any]:
    """For each trading day the prediction served then (its answer, the version) and the
    realised move; over the range the skill next to the target kind's reference rules
    (always-up and reversal; never-big and persistence for big_move), and the returns of
    trading the calls net of costs against buy-and-hold (tradable targets)."""
    return answers.backtest(session, query)


@router.get("/backtest/{symbol}/equity.png", response_class=Response)
def get_backtest_png(session: SessionDep, answers: AnswersDep, query: BacktestAskDep) -> Response:
    """The equity curves of the backtest (PNG)."""
    body = answers.backtest(session, query)
    return Response(equity_png(body), media_type="image/png")


@router.get("/backtest", response_model=UniverseBacktest)
def get_universe_backtest(
    session: SessionDep,
    answers: AnswersDep,
    settings: SettingsDep,
    universe: UniverseQuery,
    start: StartQuery,
    end: EndQuery,
    cost_bps: CostQuery = DEFAULT_COST_BPS,
) -> UniverseBacktest:
    """A universe's served cross-section on each trading day of the range (each day from the
    version whose cut is at most that day), scored against every stock's next move: accuracy
    beside always-up, the daily rank IC, and a top/bottom-fifth long-short net of `cost_bps`.
    About 0.3 s a day."""
    from app.services.universe_backtest import backtest_universe

    if end < start:
        raise InvalidInput("end", f"end {end} is before start {start}")
    return backtest_universe(
        session,
        universe=universe,
        start=start,
        end=end,
        cost_bps=cost_bps,
        graph=answers.graph,
        artifacts=settings.artifacts_dir,
    )
