"""The query behind a model's daily inputs: stored headlines and events of a run of trading
days, each event embedded. Which day a headline belongs to and how a day is pooled is
decided by models.inputs (news of weekends and holidays goes to the next trading day).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from cachetools import LRUCache
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from app.tables import Event, EventEntity, Headline, HeadlineSymbol
from kg.types import EntityLink, Phrase
from kg.types import Event as EventTuple
from models.calendar import NEW_YORK, bar_close
from models.inputs import DEFAULT_RANK, DayEvents, assign_news

__all__ = [
    "StoredEvent",
    "StoredHeadline",
    "VectorCache",
    "collect_days",
    "headlines_between",
    "news_of",
    "to_kg_event",
]

LOOKBACK = dt.timedelta(days=7)  # how far before the first trading day news is collected


@dataclass(frozen=True, slots=True)
class StoredHeadline:
    """A stored headline as read for a model's inputs: the columns of app.tables.Headline
    that the inputs and explanations read, and whether its events are extracted."""

    id: int
    date: dt.date
    rank: int | None
    text: str
    processed: bool = True  # False: stored, its events not extracted yet
    published_at: dt.datetime | None = None  # None: known by its date only


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A stored event as read for a model's inputs: the columns of app.tables.Event, its
    headline and its entity links (what event_public and to_kg_event read)."""

    id: int
    subject: str
    subject_head: str
    subject_start: int
    subject_end: int
    predicate: str
    predicate_text: str
    predicate_start: int
    predicate_end: int
    object: str | None
    object_head: str | None
    object_start: int | None
    object_end: int | None
    negated: bool
    headline: StoredHeadline
    entities: tuple[EntityLink, ...]  # the stored links, as the linker's value type


_EVENT_COLUMNS = [f.name for f in fields(StoredEvent) if f.name not in ("headline", "entities")]
_ENTITY_COLUMNS = [f.name for f in fields(EntityLink)]


def to_kg_event(row: Any) -> tuple[EventTuple, list[EntityLink]]:
    """A stored event (app.tables.Event or StoredEvent) back as the plain kg value types."""

    def phrase(text: str | None, start: int | None, end: int | None, head: str | None):  # type: ignore[no-untyped-def]
        return None if text is None else Phrase(text, start or 0, end or 0, head or "")

    event = EventTuple(
        subject=phrase(row.subject, row.subject_start, row.subject_end, row.subject_head),
        predicate=Phrase(row.predicate_text, row.predicate_start, row.predicate_end, row.predicate),
        object=phrase(row.object, row.object_start, row.object_end, row.object_head),
        negated=row.negated,
    )
    links = [
        EntityLink(x.mention, x.start, x.end, x.entity_id, x.label, x.score, x.role)
        for x in row.entities
    ]
    return event, links


def news_of(session: Session, symbol: str | None) -> ColumnElement[bool]:
    """Which stored items are `symbol`'s news: the items posted with it, if it has any;
    else (and for no symbol) the items posted without symbols, world news such as the
    demo's headlines. So an index served on world news does not read tweets about stocks,
    and a stock with news of its own reads only that."""
    tagged = select(HeadlineSymbol.headline_id)
    if symbol is not None:
        own = tagged.where(HeadlineSymbol.symbol == symbol)
        if session.scalar(own.limit(1)) is not None:
            return Headline.id.in_(own)
    return ~exists().where(HeadlineSymbol.headline_id == Headline.id)


def headlines_between(
    *, session: Session, start: dt.date, end: dt.date, symbol: str | None = None
) -> list[tuple[StoredHeadline, list[StoredEvent]]]:
    """`symbol`'s news (`news_of`) dated start..end (by date, rank, id) with their events
    in order.

    Plain rows, not ORM objects: three column queries read a window's ~700 headlines, 2,800
    events and 5,600 entity links in a fifth of the time the ORM took to build them as
    mapped objects (the cost of every uncached prediction and explanation)."""
    in_range = (Headline.date >= start, Headline.date <= end, news_of(session, symbol))
    headlines = [
        StoredHeadline(*row)
        for row in session.execute(
            select(
                Headline.id,
                Headline.date,
                Headline.rank,
                Headline.text,
                Headline.extracted_version.is_not(None),
                Headline.published_at,
            )
            .where(*in_range)
            .order_by(Headline.date, Headline.rank, Headline.id)
        )
    ]
    # No ORDER BY: sorting by event made SQLite scan every stored link; sorted here instead.
    linked: dict[int, list[tuple[int, EntityLink]]] = defaultdict(list)
    for event_id, link_id, *values in session.execute(
        select(
            EventEntity.event_id,
            EventEntity.id,
            *(getattr(EventEntity, c) for c in _ENTITY_COLUMNS),
        )
        .join(Event, Event.id == EventEntity.event_id)
        .join(Headline, Headline.id == Event.headline_id)
        .where(*in_range)
    ):
        linked[event_id].append((link_id, EntityLink(*values)))
    entities = {k: tuple(x for _, x in sorted(v, key=lambda p: p[0])) for k, v in linked.items()}
    by_id = {h.id: h for h in headlines}
    events: dict[int, list[StoredEvent]] = defaultdict(list)
    for headline_id, *values in session.execute(
        select(Event.headline_id, *(getattr(Event, c) for c in _EVENT_COLUMNS))
        .join(Headline, Headline.id == Event.headline_id)
        .where(*in_range)
        .order_by(Event.headline_id, Event.position)
    ):
        if headline_id not in by_id:  # written between the queries (read committed)
            continue
        events[headline_id].append(
            # the columns of _EVENT_COLUMNS, then the headline and links
            StoredEvent(*values, by_id[headline_id], entities.get(values[0], ()))  # type: ignore[call-arg]
        )
    return [(h, events.get(h.id, [])) for h in headlines]


class VectorCache:
    """Event vectors of one embedder by the stored event's content (a bounded LRU, shared by
    a version's requests): an uncached answer embeds its window's ~1,400 events, nearly all
    of which the neighbouring dates' answers embedded already. The key is what the vector
    is made of (the event's id, phrases and entity links), so an event re-extracted under a
    reused id is embedded again."""

    def __init__(self, size: int = 50_000) -> None:
        """Hold at most `size` vectors, evicting the least recently used."""
        self._items: LRUCache[tuple, np.ndarray] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    @staticmethod
    def key(row: Any) -> tuple:
        """The cache key of a stored event (StoredEvent or app.tables.Event): its id, its
        phrases and negation, and each entity link's role, entity and span."""
        return (
            row.id,
            row.subject,
            row.subject_head,
            row.predicate,
            row.object,
            row.object_head,
            row.negated,
            tuple((x.role, x.entity_id, x.start, x.end) for x in row.entities),
        )

    def get(self, key: tuple) -> np.ndarray | None:
        """The vector stored under `key` (read-only), or None."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple, vector: np.ndarray) -> None:
        """Store `vector` under `key`, made read-only first (requests share it)."""
        vector.flags.writeable = False  # shared between requests
        with self._lock:
            self._items[key] = vector


def collect_days(
    *,
    session: Session,
    dates: Sequence[dt.date],
    embed: Callable[[EventTuple, list[EntityLink]], np.ndarray],
    dim: int,
    since: dt.date | None = None,
    cache: VectorCache | None = None,
    symbol: str | None = None,
) -> list[DayEvents]:
    """Events of `symbol`'s news (`news_of`) for each trading day in `dates` (ascending),
    embedded with `embed`. Which day an item belongs to is models.inputs.assign_news: by its
    publication instant against each day's close (models.calendar), or by its date.

    `since` is the trading day before dates[0] (its close, or its date for date-only news,
    is the exclusive bound of dates[0]'s news); without it, dates[0] collects the LOOKBACK
    days before it. `cache`: vectors `embed` made before.
    """
    if not dates:
        return []
    days = [DayEvents(date=d) for d in dates]
    vectors: list[list[np.ndarray]] = [[] for _ in dates]
    since_close = bar_close(since) if since is not None else None
    since = since or dates[0] - LOOKBACK - dt.timedelta(days=1)
    since_close = since_close or dt.datetime.combine(
        since + dt.timedelta(days=1), dt.time(0), NEW_YORK
    )
    # An item's date is its source's (upstream files, or New York dates): a day either side
    # of the span is read, and assign_news keeps what the closes allow.
    headlines = headlines_between(
        session=session, start=since, end=dates[-1] + dt.timedelta(days=1), symbol=symbol
    )
    which = assign_news(
        [h.date for h, _ in headlines],
        [h.published_at for h, _ in headlines],
        dates,
        [bar_close(d) for d in dates],
        since=since,
        since_close=since_close,
    )
    for (headline, stored), j in zip(headlines, which, strict=True):
        if j < 0:
            continue
        day = days[j]
        day.n_headlines += 1
        day.n_timed += headline.published_at is not None
        day.n_pending += not headline.processed
        for row in stored:
            day.rows.append(row)
            day.n_linked += bool(row.entities)
            day.event_ids.append(row.id)
            day.ranks.append(headline.rank or DEFAULT_RANK)
            if cache is None:
                vectors[j].append(embed(*to_kg_event(row)))
                continue
            key = VectorCache.key(row)
            vector = cache.get(key)
            if vector is None:
                vector = embed(*to_kg_event(row))
                cache.put(key, vector)
            vectors[j].append(vector)
    for day, vecs in zip(days, vectors, strict=True):
        day.vectors = np.stack(vecs) if vecs else np.zeros((0, dim), dtype=np.float32)
    return days
