"""Response schemas of GET /v1/events and GET /v1/ingest (see app.schemas_public)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from app.schemas_public import EventPublic, ResponseBody

__all__ = ["EventsOfDay", "HeadlinePublic", "IngestStatus"]


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
