"""GET /v1/events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.errors import READ_ERRORS
from app.schemas import BoundedDate
from app.schemas_public import EventsOfDay, event_public
from app.services.headlines import events_for_date

router = APIRouter(prefix="/v1", tags=["events"], responses=READ_ERRORS)


@router.get("/events", response_model=EventsOfDay)
def get_events(
    session: SessionDep,
    date: Annotated[BoundedDate, Query(description="ISO date YYYY-MM-DD")],
) -> dict:
    """The headlines of a day with the events extracted from them and their linked entities."""
    headlines = events_for_date(session=session, date=date)
    return {
        "date": date.isoformat(),
        "headlines": [
            {
                "id": h.id,
                "rank": h.rank,
                "source": h.source,
                "text": h.text,
                "processed": h.extracted_version is not None,
                "events": [event_public(e) for e in h.events],
            }
            for h in headlines
        ],
    }
