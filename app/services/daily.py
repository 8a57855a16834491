"""From stored headlines and events to one feature row per trading day.

A trading day t collects the headlines dated after the previous trading day and up to t
(so weekend and holiday news reaches the next session; nothing dated after t is used).
Each event becomes a vector (the embedder's multi-channel concatenation) and a day's events
are pooled with weights by headline rank (models.explain.pool_events).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.tables import Event, Headline
from kg.types import EntityLink, Phrase
from kg.types import Event as EventTuple
from models.explain import pool_events

__all__ = ["DayEvents", "collect_days", "pooled_matrix", "to_kg_event", "headlines_between"]

LOOKBACK = dt.timedelta(days=7)  # how far before the first trading day news is collected


@dataclass
class DayEvents:
    """The events assigned to one trading day; `vectors` is (n_events, dim)."""

    date: dt.date
    event_ids: list[int] = field(default_factory=list)
    ranks: list[int] = field(default_factory=list)
    vectors: np.ndarray | None = None
    n_headlines: int = 0
    n_linked: int = 0
    rows: list[Event] = field(default_factory=list)  # the stored events, for explanations

    def pooled(self, dim: int, *, drop: int | None = None) -> np.ndarray:
        """Pooled vector of the day, optionally without the event at position `drop`."""
        if self.vectors is None or not len(self.event_ids):
            return np.zeros(dim, dtype=np.float32)
        keep = [i for i in range(len(self.event_ids)) if i != drop]
        return pool_events(self.vectors[keep], np.asarray(self.ranks)[keep])


def to_kg_event(row: Event) -> tuple[EventTuple, list[EntityLink]]:
    """A stored event back as the plain kg value types."""

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


def headlines_between(*, session: Session, start: dt.date, end: dt.date) -> list[Headline]:
    stmt = (
        select(Headline)
        .where(Headline.date >= start, Headline.date <= end)
        .options(selectinload(Headline.events).selectinload(Event.entities))
        .order_by(Headline.date, Headline.rank, Headline.id)
    )
    return list(session.scalars(stmt))


def collect_days(
    *,
    session: Session,
    dates: Sequence[dt.date],
    embed: Callable[[EventTuple, list[EntityLink]], np.ndarray],
    dim: int,
    since: dt.date | None = None,
) -> list[DayEvents]:
    """Events of each trading day in `dates` (ascending), embedded with `embed`.

    `since` is the trading day before dates[0] (exclusive bound for its news); without it,
    dates[0] collects the LOOKBACK days before it.
    """
    if not dates:
        return []
    days = [DayEvents(date=d) for d in dates]
    vectors: list[list[np.ndarray]] = [[] for _ in dates]
    start = since + dt.timedelta(days=1) if since else dates[0] - LOOKBACK
    headlines = headlines_between(session=session, start=start, end=dates[-1])
    cursor = 0
    for headline in headlines:
        while cursor < len(dates) and dates[cursor] < headline.date:
            cursor += 1
        if cursor == len(dates):
            break
        day = days[cursor]
        day.n_headlines += 1
        for row in headline.events:
            day.rows.append(row)
            day.n_linked += bool(row.entities)
            day.event_ids.append(row.id)
            day.ranks.append(headline.rank or 25)
            vectors[cursor].append(embed(*to_kg_event(row)))
    for day, vecs in zip(days, vectors, strict=True):
        day.vectors = np.stack(vecs) if vecs else np.zeros((0, dim), dtype=np.float32)
    return days


def pooled_matrix(days: Sequence[DayEvents], dim: int) -> np.ndarray:
    """(n_days, dim) pooled event features."""
    if not days:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([day.pooled(dim) for day in days]).astype(np.float32)
