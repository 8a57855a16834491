"""GET /v1/events and GET /v1/ingest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.api.deps import SessionDep
from app.errors import READ_ERRORS
from app.schemas import BoundedDate, Symbol
from app.schemas_events import EventsOfDay, IngestStatus, event_public
from app.services.extraction import ingest_status
from app.services.headlines import events_for_date

router = APIRouter(prefix="/v1", tags=["events"], responses=READ_ERRORS)


@router.get("/events", response_model=EventsOfDay)
def get_events(
    session: SessionDep,
    date: Annotated[BoundedDate, Query(description="ISO date YYYY-MM-DD")],
    symbol: Annotated[
        Symbol | None, Query(description="Only the news posted with this symbol")
    ] = None,
) -> dict:
    """The headlines of a day (of one symbol's news, if asked) with the events extracted from
    them and their linked entities."""
    headlines = events_for_date(session=session, date=date, symbol=symbol)
    return {
        "date": date.isoformat(),
        "symbol": symbol,
        "headlines": [
            {
                "id": h.id,
                "rank": h.rank,
                "source": h.source,
                "text": h.text,
                "published_at": h.published_at,
                "symbols": [s.symbol for s in h.symbols],
                "external_id": h.external_id,
                "processed": h.extracted_version is not None,
                "events": [event_public(e) for e in h.events],
            }
            for h in headlines
        ],
    }


@router.get("/ingest", response_model=IngestStatus)
def get_ingest(session: SessionDep, request: Request) -> dict:
    """The extraction backlog: how many stored headlines wait for their events, how many were
    processed, and the recent rate (counted from the database, so every worker's share)."""
    state = request.app.state
    version = state.pipeline.version if state.pipeline is not None else None
    return {
        **ingest_status(session, version),
        "in_process_extractor": state.extractor is not None,
    }
