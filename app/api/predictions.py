"""GET predictions and explanations (JSON, an HTML page, a PNG of the effects)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from app.api.deps import AnswersDep, SessionDep, SettingsDep
from app.domain import InvalidInput, NoModel
from app.errors import READ_ERRORS, error_doc
from app.schemas import BoundedDate
from app.schemas_explanations import ExplanationPublic
from app.schemas_public import PredictionPublic
from app.schemas_universe import (
    CrossSectionPublic,
    UniverseExplanation,
    UniverseStockPrediction,
)
from app.services.answers import Ask
from app.services.explanations import GraphOptions
from app.services.plots import effects_png
from models.targets import DEFAULT_TARGET, TARGETS, Target

router = APIRouter(
    prefix="/v1",
    tags=["predictions"],
    responses={
        **READ_ERRORS,
        404: error_doc("Unknown symbol"),
        409: error_doc("No trained model for this symbol and target; names the command"),
    },
)

# The explanation page loads only its own script, style and the vendored cytoscape.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

SymbolPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9.^\-]{1,15}$", description="1-15 characters of A-Z 0-9 . ^ -")
]
DateQuery = Annotated[
    BoundedDate | None, Query(description="ISO date D; default: latest with data")
]
TargetQuery = Annotated[
    str,
    Query(
        description="next_day: the move after D from data up to D; same_day: D's own move; "
        "big_move: whether the move after D is large; next_close: the close after D "
        "(and any target registered in models.targets)",
        max_length=40,
    ),
]
InSampleQuery = Annotated[
    bool,
    Query(
        description="Without an out-of-sample version for D (one whose training labels all "
        "precede the day predicted), serve the newest version, marked in_sample: true"
    ),
]


def known_target(target: str) -> Target:
    """The target called `target` (models.targets); a 422 naming the field otherwise."""
    if target not in TARGETS:
        raise InvalidInput("target", f"unknown target {target!r}; expected one of {list(TARGETS)}")
    return TARGETS[target]


async def ask(
    symbol: SymbolPath,
    date: DateQuery = None,
    target: TargetQuery = DEFAULT_TARGET,
    allow_in_sample: InSampleQuery = False,
) -> Ask:
    """The query of a prediction, an explanation or its chart, checked once (async: pure
    checks, run on the event loop rather than a worker thread)."""
    return Ask(symbol, date, known_target(target), allow_in_sample)


AskDep = Annotated[Ask, Depends(ask)]


UniverseQuery = Annotated[
    str,
    Query(
        pattern=r"^[A-Za-z0-9_\-]{1,15}$",
        description="A stored universe (`kdtcn import stocknet` stores `stocknet`), or `all` "
        "(every symbol with news of its own) as it was trained (`kdtcn train-universe`)",
    ),
]
StockUniverseQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_\-]{1,15}$",
        description="Answer from this universe's network (next_day only). Without it, a "
        "symbol with no version of its own is answered by the universe network that holds "
        "it (the one with the newest cut at most D), if any",
    ),
]


@router.get("/predictions/{symbol}", response_model=PredictionPublic | UniverseStockPrediction)
async def get_prediction(
    request: Request,
    answers: AnswersDep,
    settings: SettingsDep,
    query: AskDep,
    universe: StockUniverseQuery = None,
) -> dict[str, Any] | UniverseStockPrediction | Response:
    """The target's answer for the day it predicts (the probability of its positive outcome,
    or next_close's price and interval), with the model (point in time), its metrics and the
    data used. A stock answered by a universe network (`universe=`, or a symbol with no
    version of its own) gives its answer within the universe's cross-section instead."""
    factory = request.app.state.sessionmaker
    if universe is not None:
        return await run_in_threadpool(
            _in_session, factory, _by_universe, answers, settings, query, universe, "prediction"
        )
    # A cached answer whose data is unchanged costs one query. On the embedded SQLite (a
    # local file, no network to wait on) that query runs right here on the event loop and
    # the hit goes out as the bytes rendered when it was first served (app.services.answers);
    # everything else (PostgreSQL, a miss) runs on a worker thread, as a plain handler would.
    engine = factory.kw["bind"]
    if engine.dialect.name == "sqlite":
        hit = answers.cached_json(engine, query, "prediction")
        if hit is not None:
            return Response(hit, media_type="application/json")
    try:
        return await run_in_threadpool(_answer, factory, answers, query)
    except NoModel as no_version:
        answer = await run_in_threadpool(
            _in_session, factory, _held_by_universe, answers, settings, query, "prediction"
        )
        if answer is None:
            raise no_version from None
        return answer


def _answer(factory: Any, answers: Any, query: Ask) -> dict[str, Any]:
    with factory() as session, session.begin():
        return answers.get(session, query, "prediction")


def _in_session(factory: Any, function: Any, *args: Any) -> Any:
    """`function(session, *args)` in a session of its own (for a worker thread)."""
    with factory() as session:
        return function(session, *args)


UniverseKind = Literal["prediction", "explanation"]
UniverseAnswer = UniverseStockPrediction | UniverseExplanation


def _held_by_universe(
    session: Any, answers: Any, settings: Any, query: Ask, kind: UniverseKind
) -> UniverseAnswer | None:
    """A next_day answer (or its explanation) from the universe network that holds the
    symbol, for a symbol without a version of its own (None: no universe holds it)."""
    from app.services.universe import TARGET as UNIVERSE_TARGET
    from app.services.universe_answers import universe_of

    if query.rule.name != UNIVERSE_TARGET:
        return None
    held_by = universe_of(session, query.symbol, query.date)
    if held_by is None:
        return None
    return _by_universe(session, answers, settings, query, held_by, kind)


def _by_universe(
    session: Any, answers: Any, settings: Any, query: Ask, universe: str, kind: UniverseKind
) -> UniverseAnswer:
    """The stock's answer within `universe`'s cross-section, or its explanation."""
    from app.services.universe import TARGET as UNIVERSE_TARGET
    from app.services.universe_answers import explain, stock_answer

    if query.rule.name != UNIVERSE_TARGET:
        raise InvalidInput(
            "target", f"a universe network answers {UNIVERSE_TARGET} only, not {query.rule.name}"
        )
    answer: Callable[..., UniverseAnswer] = stock_answer if kind == "prediction" else explain
    return answer(
        session,
        universe=universe,
        symbol=query.symbol,
        day=query.date,
        graph=answers.graph,
        artifacts=settings.artifacts_dir,
    )


EventsQuery = Annotated[
    int, Query(ge=1, le=200, description="The graph draws at most this many events")
]
NodesQuery = Annotated[
    int, Query(ge=5, le=1000, description="The graph draws at most this many nodes")
]
PermutationsQuery = Annotated[
    int,
    Query(
        ge=2,
        le=200,
        description="Shapley value sampling: orders of the headlines walked (more: smaller "
        "standard errors, slower)",
    ),
]
DetailQuery = Annotated[
    Literal["summary", "full"],
    Query(description="summary: the graph within `events` and `nodes`; full: every event"),
]


@router.get("/explanations/{symbol}", response_model=ExplanationPublic | UniverseExplanation)
def get_explanation(
    session: SessionDep,
    answers: AnswersDep,
    settings: SettingsDep,
    query: AskDep,
    events: EventsQuery = GraphOptions.events,
    nodes: NodesQuery = GraphOptions.nodes,
    detail: DetailQuery = GraphOptions.detail,
    permutations: PermutationsQuery = GraphOptions.permutations,
    universe: StockUniverseQuery = None,
) -> dict[str, Any] | UniverseAnswer:
    """Each headline's Shapley value on the answer (adding up to the answer with every
    event minus the answer with none), each event's occlusion effect, KG groups, and a graph
    of the most important events (at most `nodes` nodes unless detail=full). A stock
    answered by a universe network (`universe=`, or a symbol with no version of its own) is
    explained as `GET /v1/explanations?universe=` explains it: its own and its related
    stocks' items with their effects, attention and the company facts between (the graph
    options do not apply)."""
    options = GraphOptions(events=events, nodes=nodes, detail=detail, permutations=permutations)
    return _explanation(session, answers, settings, query, universe, options)


def _explanation(
    session: Any,
    answers: Any,
    settings: Any,
    query: Ask,
    universe: str | None,
    options: GraphOptions | None = None,
) -> dict[str, Any] | UniverseAnswer:
    """The symbol's explanation, or its universe network's (`universe`, or the one that
    holds a symbol without a version of its own)."""
    if universe is not None:
        return _by_universe(session, answers, settings, query, universe, "explanation")
    try:
        return answers.get(session, query, "explanation", options)
    except NoModel as no_version:
        answer = _held_by_universe(session, answers, settings, query, "explanation")
        if answer is None:
            raise no_version from None
        return answer


@router.get("/explanations/{symbol}/view", response_class=HTMLResponse)
def view_explanation(symbol: SymbolPath) -> HTMLResponse:
    """The explanation as a page: effect bars and the interactive graph."""
    page = resources.files("app").joinpath("static/explain.html").read_text("utf-8")
    return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_CSP})


@router.get("/explanations/{symbol}/effects.png", response_class=Response)
def explanation_png(
    session: SessionDep,
    answers: AnswersDep,
    settings: SettingsDep,
    query: AskDep,
    top: Annotated[int, Query(ge=1, le=100)] = 25,
    universe: StockUniverseQuery = None,
) -> Response:
    """The largest effects as a horizontal bar chart (PNG): each headline's, or for a stock
    its universe answers, its own news' and each related stock's."""
    body = _explanation(session, answers, settings, query, universe)
    if not isinstance(body, dict):
        body = body.model_dump(mode="json")  # the chart reads an answer's JSON form
    return Response(effects_png(body, top=top), media_type="image/png")


@router.get("/predictions", response_model=CrossSectionPublic)
def get_cross_section(
    session: SessionDep,
    answers: AnswersDep,
    settings: SettingsDep,
    universe: UniverseQuery,
    date: Annotated[
        BoundedDate, Query(description="ISO date D: answers made at D's close, about D's next day")
    ],
) -> CrossSectionPublic:
    """Every stock of a universe, ranked by P(up) for the trading day after D, from the
    universe network's newest version whose cut is at most D (`kdtcn train-universe`): what a
    quant screens. Each answer reads its stock's bars up to D, the news published before D's
    close, and its related stocks' news through attention."""
    from app.services.universe_answers import cross_section

    return cross_section(
        session, universe=universe, day=date, graph=answers.graph, artifacts=settings.artifacts_dir
    )


@router.get("/explanations", response_model=UniverseExplanation)
def get_universe_explanation(
    session: SessionDep,
    answers: AnswersDep,
    settings: SettingsDep,
    universe: UniverseQuery,
    symbol: Annotated[
        str, Query(pattern=r"^[A-Za-z0-9.^\-]{1,15}$", description="A stock of the universe")
    ],
    date: Annotated[
        BoundedDate,
        Query(description="ISO date D: the answer made at D's close, about D's next day"),
    ],
) -> UniverseExplanation:
    """One stock's answer from the universe network for D, explained: its own items and its
    related stocks' items that it read, each with its effect on P(up), the attention the
    network gave each related stock, their relation and the chain of company facts between
    them."""
    from app.services.universe_answers import explain

    return explain(
        session,
        universe=universe,
        symbol=symbol,
        day=date,
        graph=answers.graph,
        artifacts=settings.artifacts_dir,
    )
