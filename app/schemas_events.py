"""Response schemas of GET /v1/events and GET /v1/ingest (see app.schemas_public), and the
public form of a stored event, which explanations list too."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from app.schemas_public import ResponseBody

__all__ = ["EventPublic", "EventsOfDay", "HeadlinePublic", "IngestStatus", "event_public"]


class Span(ResponseBody):
    text: str
    head: str | None
    span: list[int | None]


class PredicateSpan(ResponseBody):
    text: str
    lemma: str
    span: list[int | None]


class EntityMention(ResponseBody):
    role: str
    mention: str
    span: list[int]
    id: str
    label: str | None
    score: float


class EventPublic(ResponseBody):
    """An event of a headline: subject, predicate and object with their character spans,
    its negation and its linked entities."""

    id: int
    subject: Span
    predicate: PredicateSpan
    object: Span | None
    negated: bool
    entities: list[EntityMention]


class HeadlinePublic(ResponseBody):
    """A stored headline with its events."""

    id: int
    rank: int | None
    source: str
    text: str
    published_at: dt.datetime | None = Field(
        description="When it was published (UTC); null: known by its date only"
    )
    symbols: list[str] = Field(description="The symbols it is about")
    external_id: str | None = Field(description="Its id at the source, as posted")
    processed: bool = Field(description="Events extracted by the current pipeline version")
    events: list[EventPublic]


class EventsOfDay(ResponseBody):
    """GET /v1/events: a day's headlines (of one symbol's news, if asked), by rank, with
    their events."""

    date: dt.date
    symbol: str | None = Field(description="The symbol asked for; null: every item of the day")
    headlines: list[HeadlinePublic]


class IngestStatus(ResponseBody):
    """GET /v1/ingest: how far event extraction has got."""

    extractor_version: str | None = Field(
        description="The extractor+linker version whose output counts as processed"
    )
    pending: int = Field(description="Stored headlines waiting for event extraction")
    oldest_pending_since: dt.datetime | None = Field(
        description="When the longest-waiting pending headline was stored"
    )
    processed: int = Field(description="Headlines processed by this extractor version")
    events: int = Field(description="Events stored")
    processed_last_minute: int = Field(description="Headlines processed in the last 60 s")
    rate_per_second: float = Field(description="processed_last_minute / 60, every worker's")
    in_process_extractor: bool = Field(
        description="Whether this API process extracts in the background (else workers do)"
    )


def event_public(row: Any) -> EventPublic:
    """The one mapping from a stored event (app.tables.Event with its entities loaded) to
    its public form; /v1/events and explanations both use it."""
    return EventPublic(
        id=row.id,
        subject=Span(
            text=row.subject, head=row.subject_head, span=[row.subject_start, row.subject_end]
        ),
        predicate=PredicateSpan(
            text=row.predicate_text,
            lemma=row.predicate,
            span=[row.predicate_start, row.predicate_end],
        ),
        object=None
        if row.object is None
        else Span(text=row.object, head=row.object_head, span=[row.object_start, row.object_end]),
        negated=row.negated,
        entities=[
            EntityMention(
                role=x.role,
                mention=x.mention,
                span=[x.start, x.end],
                id=x.entity_id,
                label=x.label,
                score=round(x.score, 4),
            )
            for x in row.entities
        ],
    )
