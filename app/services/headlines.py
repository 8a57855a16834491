"""Storing headlines and the events extracted from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from app.db import run_transaction
from app.schemas import HeadlineIn, WriteResult
from app.services.upsert import insert_ignore
from app.tables import Event, EventEntity, Headline, HeadlineSymbol
from kg.text import content_hash
from kg.types import EntityLink
from kg.types import Event as EventTuple

__all__ = [
    "EventSource",
    "insert_headlines",
    "store_headlines",
    "replace_events",
    "events_for_date",
]


# The mapped classes' tables, for Core statements (bulk inserts and updates).
_HEADLINES = cast(Table, Headline.__table__)
_EVENTS = cast(Table, Event.__table__)
_EVENT_ENTITIES = cast(Table, EventEntity.__table__)
_SYMBOLS = cast(Table, HeadlineSymbol.__table__)


class EventSource(Protocol):
    """What ingestion needs from the knowledge pipeline (kg.pipeline.EventPipeline)."""

    version: str

    def process(self, texts: Sequence[str]) -> list[list[tuple[EventTuple, list[EntityLink]]]]:
        """For each text, in order, its events, each with the entity links it carries."""
        ...


def _row(item: HeadlineIn) -> tuple[tuple[str, dt.date, str], dict[str, Any]]:
    """An item's identity key and its row. An item with an id hashes the id with its text
    (the table's docstring says why)."""
    digest = content_hash(item.text if item.id is None else f"{item.text}\x1fid:{item.id}")
    row = {
        "source": item.source,
        "date": item.day,
        "rank": item.rank,
        "text": item.text,
        "content_hash": digest,
        "published_at": item.published_at,
        "external_id": item.id,
    }
    return (item.source, item.day, digest), row


def insert_headlines(
    *, session: Session, items: Sequence[HeadlineIn]
) -> tuple[WriteResult, list[int]]:
    """Insert new items of news (deduplicated on source, date and content hash, and on source
    and id), unprocessed, with the symbols they are about.

    An item already stored is left as it is, symbols included: the first write of an item
    wins. Rows go in in key order, so overlapping writers lock them in the same order and
    cannot deadlock each other. Returns the counts and the ids of the rows inserted.
    """
    rows: dict[tuple[str, dt.date, str], dict[str, Any]] = {}
    symbols: dict[tuple[str, dt.date, str], list[str]] = {}
    external: set[tuple[str, str]] = set()
    for item in items:
        key, row = _row(item)
        if key in rows or (item.id is not None and (item.source, item.id) in external):
            continue
        rows[key] = row
        symbols[key] = item.symbols
        if item.id is not None:
            external.add((item.source, item.id))
    table = _HEADLINES
    keys = sorted(rows)
    inserted = insert_ignore(
        session,
        table,
        [rows[key] for key in keys],
        [table.c.id, table.c.source, table.c.date, table.c.content_hash],
    )
    links = [
        {"headline_id": row.id, "symbol": symbol}
        for row in inserted
        for symbol in symbols[(row.source, row.date, row.content_hash)]
    ]
    if links:
        session.execute(insert(_SYMBOLS), links)
    result = WriteResult(
        received=len(items), inserted=len(inserted), already_present=len(items) - len(inserted)
    )
    return result, [row.id for row in inserted]


# The NOTIFY channel of new pending headlines (PostgreSQL): idle extractors LISTEN on it.
PENDING_CHANNEL = "kdtcn_pending"


def store_headlines(*, factory: sessionmaker[Session], items: Sequence[HeadlineIn]) -> WriteResult:
    """Store a batch in one short transaction, whole or not at all, and answer at once.

    The new headlines are pending (`extracted_version` NULL): extraction and linking happen
    after the commit, in the service's background extractor or in `kdtcn worker` processes
    (app.services.extraction), which PostgreSQL wakes with a NOTIFY on PENDING_CHANNEL.
    The transaction is retried on deadlocks and serialization failures
    (`app.db.run_transaction`).
    """

    def write(session: Session) -> tuple[WriteResult, list[int]]:
        result, new_rows = insert_headlines(session=session, items=items)
        if new_rows and session.get_bind().dialect.name == "postgresql":
            # Delivered to every listening worker when (and only if) the batch commits.
            session.execute(select(func.pg_notify(PENDING_CHANNEL, str(len(new_rows)))))
        return result, new_rows

    result, new_rows = run_transaction(factory, write)
    result.pending = len(new_rows)
    return result


def replace_events(
    session: Session,
    version: str,
    ids: list[int],
    results: list[list[tuple[EventTuple, list[EntityLink]]]],
) -> int:
    """Replace the events of headlines `ids` with `results` and mark them processed by
    `version` now (idempotent: a headline written twice has its events once).

    Core statements, not ORM objects: building ~1,000 mapped events and their links took
    about as long as a worker's spaCy parse of the same chunk."""
    old = select(Event.id).where(Event.headline_id.in_(ids)).scalar_subquery()
    session.execute(delete(EventEntity).where(EventEntity.event_id.in_(old)))
    session.execute(delete(Event).where(Event.headline_id.in_(ids)))
    rows: list[dict[str, Any]] = []
    links: list[list[EntityLink]] = []
    for headline_id, extracted in zip(ids, results, strict=True):
        for position, (ev, found) in enumerate(extracted):
            obj = ev.object
            rows.append(
                {
                    "headline_id": headline_id,
                    "position": position,
                    "subject": ev.subject.text,
                    "subject_head": ev.subject.head[:128],
                    "subject_start": ev.subject.start,
                    "subject_end": ev.subject.end,
                    "predicate": ev.predicate.head[:128],
                    "predicate_text": ev.predicate.text,
                    "predicate_start": ev.predicate.start,
                    "predicate_end": ev.predicate.end,
                    "object": obj.text if obj else None,
                    "object_head": obj.head[:128] if obj else None,
                    "object_start": obj.start if obj else None,
                    "object_end": obj.end if obj else None,
                    "negated": ev.negated,
                }
            )
            links.append(found)
    if rows:
        # A plain executemany, then the new ids by (headline, position): RETURNING in
        # parameter order needs a sentinel column that the events table has not, and
        # SQLAlchemy then sends one INSERT per row (half a PostgreSQL worker's time).
        session.execute(insert(_EVENTS), rows)
        new_ids = {
            (h, pos): event_id
            for event_id, h, pos in session.execute(
                select(Event.id, Event.headline_id, Event.position).where(
                    Event.headline_id.in_(ids)
                )
            )
        }
        event_ids = [new_ids[(row["headline_id"], row["position"])] for row in rows]
        entity_rows = [
            {
                "event_id": event_id,
                "role": link.role or "mention",
                "mention": link.mention,
                "start": link.start,
                "end": link.end,
                "entity_id": link.entity_id,
                "label": link.label,
                "score": float(link.score),
            }
            for event_id, found in zip(event_ids, links, strict=True)
            for link in found
        ]
        if entity_rows:
            session.execute(insert(_EVENT_ENTITIES), entity_rows)
    session.execute(
        _HEADLINES.update()
        .where(_HEADLINES.c.id.in_(ids))
        .values(extracted_version=version, extracted_at=dt.datetime.now(dt.UTC))
    )
    return len(rows)


def events_for_date(
    *, session: Session, date: dt.date, symbol: str | None = None
) -> list[Headline]:
    """Headlines of a day (of one symbol's news, if given) with their symbols, events and
    linked entities, by rank, then time of publication."""
    stmt = (
        select(Headline)
        .where(Headline.date == date)
        .options(
            selectinload(Headline.events).selectinload(Event.entities),
            selectinload(Headline.symbols),
        )
        .order_by(Headline.rank.is_(None), Headline.rank, Headline.published_at, Headline.id)
    )
    if symbol is not None:
        stmt = stmt.where(
            Headline.id.in_(
                select(HeadlineSymbol.headline_id).where(HeadlineSymbol.symbol == symbol)
            )
        )
    return list(session.scalars(stmt))
