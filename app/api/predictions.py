"""GET predictions and explanations (JSON, an HTML page, a PNG of the effects)."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import SessionDep
from app.errors import READ_ERRORS, error_doc
from app.schemas import BoundedDate
from app.schemas_public import ExplanationPublic, PredictionPublic
from app.services.plots import effects_png
from models.targets import DEFAULT_TARGET, TargetName

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
    TargetName,
    Query(description="next_day: the move after D from data up to D; same_day: D's own move"),
]
InSampleQuery = Annotated[
    bool,
    Query(
        description="Without an out-of-sample version for D (one whose training labels all "
        "precede the day predicted), serve the newest version, marked in_sample: true"
    ),
]


@router.get("/predictions/{symbol}", response_model=PredictionPublic)
def get_prediction(
    request: Request,
    session: SessionDep,
    symbol: SymbolPath,
    date: DateQuery = None,
    target: TargetQuery = DEFAULT_TARGET,
    allow_in_sample: InSampleQuery = False,
) -> dict[str, Any]:
    """P(up) for the target day, with the model (point in time), its metrics and the data used."""
    return request.app.state.answers.get(
        session,
        symbol=symbol,
        date=date,
        target=target,
        kind="prediction",
        allow_in_sample=allow_in_sample,
    )


@router.get("/explanations/{symbol}", response_model=ExplanationPublic)
def get_explanation(
    request: Request,
    session: SessionDep,
    symbol: SymbolPath,
    date: DateQuery = None,
    target: TargetQuery = DEFAULT_TARGET,
    allow_in_sample: InSampleQuery = False,
) -> dict[str, Any]:
    """Every event of the window with its occlusion effect on P(up), groups and graph."""
    return request.app.state.answers.get(
        session,
        symbol=symbol,
        date=date,
        target=target,
        kind="explanation",
        allow_in_sample=allow_in_sample,
    )


@router.get("/explanations/{symbol}/view", response_class=HTMLResponse)
def view_explanation(symbol: SymbolPath) -> HTMLResponse:
    """The explanation as a page: effect bars and the interactive graph."""
    page = resources.files("app").joinpath("static/explain.html").read_text("utf-8")
    return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_CSP})


@router.get("/explanations/{symbol}/effects.png", response_class=Response)
def explanation_png(
    request: Request,
    session: SessionDep,
    symbol: SymbolPath,
    date: DateQuery = None,
    target: TargetQuery = DEFAULT_TARGET,
    top: Annotated[int, Query(ge=1, le=100)] = 25,
    allow_in_sample: InSampleQuery = False,
) -> Response:
    """The largest effects as a horizontal bar chart (PNG)."""
    body = request.app.state.answers.get(
        session,
        symbol=symbol,
        date=date,
        target=target,
        kind="explanation",
        allow_in_sample=allow_in_sample,
    )
    return Response(effects_png(body, top=top), media_type="image/png")
