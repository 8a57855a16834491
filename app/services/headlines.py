"""Storing headlines and the events extracted from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.schemas import HeadlineIn, WriteResult
from app.services.upsert import insert_ignore
from app.tables import Event, EventEntity, Headline
from kg.text import content_hash
from kg.types import EntityLink
from kg.types import Event as EventTuple

__all__ = ["EventSource", "store_headlines", "extract_pending", "events_for_date"]


class EventSource(Protocol):
    """What ingestion needs from the knowledge pipeline (kg.pipeline.EventPipeline)."""

    version: str

    def process(self, texts: Sequence[str]) -> list[list[tuple[EventTuple, list[EntityLink]]]]: ...


def store_headlines(
    *, session: Session, items: Sequence[HeadlineIn], pipeline: EventSource | None
) -> WriteResult:
    """Insert new headlines (deduplicated on source, date and content hash) and their events.

    Everything happens in the caller's transaction, so a failure stores nothing.
    """
    rows: dict[tuple[str, dt.date, str], dict[str, Any]] = {}
    for item in items:
        digest = content_hash(item.text)
        rows.setdefault(
            (item.source, item.date, digest),
            {
                "source": item.source,
                "date": item.date,
                "rank": item.rank,
                "text": item.text,
                "content_hash": digest,
            },
        )
    table = Headline.__table__
    inserted = insert_ignore(session, table, list(rows.values()), [table.c.id, table.c.text])
    n_events = None
    if pipeline is not None and inserted:
        n_events = _store_events(session, pipeline, [(r.id, r.text) for r in inserted])
    return WriteResult(
        received=len(items),
        inserted=len(inserted),
        already_present=len(items) - len(inserted),
        events_extracted=n_events,
    )


def extract_pending(*, session: Session, pipeline: EventSource, limit: int = 2000) -> int:
    """Extract events for up to `limit` headlines not processed by this pipeline version.

    Returns how many headlines were processed (0 when none is pending).
    """
    pending = session.execute(
        select(Headline.id, Headline.text)
        .where(
            (Headline.extracted_version.is_(None))
            | (Headline.extracted_version != pipeline.version)
        )
        .order_by(Headline.id)
        .limit(limit)
    ).all()
    if not pending:
        return 0
    ids = [row.id for row in pending]
    old = session.scalars(select(Event).where(Event.headline_id.in_(ids))).all()
    for event in old:
        session.delete(event)
    session.flush()
    _store_events(session, pipeline, [(row.id, row.text) for row in pending])
    return len(pending)


def _store_events(session: Session, pipeline: EventSource, rows: list[tuple[int, str]]) -> int:
    results = pipeline.process([text for _, text in rows])
    n = 0
    for (headline_id, _), extracted in zip(rows, results, strict=True):
        for position, (ev, links) in enumerate(extracted):
            obj = ev.object
            event = Event(
                headline_id=headline_id,
                position=position,
                subject=ev.subject.text,
                subject_head=ev.subject.head[:128],
                subject_start=ev.subject.start,
                subject_end=ev.subject.end,
                predicate=ev.predicate.head[:128],
                predicate_text=ev.predicate.text,
                predicate_start=ev.predicate.start,
                predicate_end=ev.predicate.end,
                object=obj.text if obj else None,
                object_head=obj.head[:128] if obj else None,
                object_start=obj.start if obj else None,
                object_end=obj.end if obj else None,
                negated=ev.negated,
                entities=[
                    EventEntity(
                        role=link.role or "mention",
                        mention=link.mention,
                        start=link.start,
                        end=link.end,
                        entity_id=link.entity_id,
                        label=link.label,
                        score=float(link.score),
                    )
                    for link in links
                ],
            )
            session.add(event)
            n += 1
    session.flush()
    session.execute(
        Headline.__table__.update()
        .where(Headline.__table__.c.id.in_([hid for hid, _ in rows]))
        .values(extracted_version=pipeline.version)
    )
    return n


def events_for_date(*, session: Session, date: dt.date) -> list[Headline]:
    """Headlines of a day with their events and linked entities, by rank."""
    stmt = (
        select(Headline)
        .where(Headline.date == date)
        .options(selectinload(Headline.events).selectinload(Event.entities))
        .order_by(Headline.rank.is_(None), Headline.rank, Headline.id)
    )
    return list(session.scalars(stmt))
