"""GET /v1/events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.errors import READ_ERRORS
from app.schemas import BoundedDate
from app.schemas_public import EventsOfDay
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
                "events": [
                    {
                        "id": e.id,
                        "subject": {
                            "text": e.subject,
                            "head": e.subject_head,
                            "span": [e.subject_start, e.subject_end],
                        },
                        "predicate": {
                            "text": e.predicate_text,
                            "lemma": e.predicate,
                            "span": [e.predicate_start, e.predicate_end],
                        },
                        "object": None
                        if e.object is None
                        else {
                            "text": e.object,
                            "head": e.object_head,
                            "span": [e.object_start, e.object_end],
                        },
                        "negated": e.negated,
                        "entities": [
                            {
                                "role": x.role,
                                "mention": x.mention,
                                "span": [x.start, x.end],
                                "id": x.entity_id,
                                "label": x.label,
                                "score": round(x.score, 4),
                            }
                            for x in e.entities
                        ],
                    }
                    for e in h.events
                ],
            }
            for h in headlines
        ],
    }
