"""The query behind a model's daily inputs: stored headlines and events of a run of trading
days, each event embedded. Which day a headline belongs to and how a day is pooled is
decided by models.inputs (news of weekends and holidays goes to the next trading day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.tables import Event, Headline
from kg.types import EntityLink, Phrase
from kg.types import Event as EventTuple
from models.inputs import DEFAULT_RANK, DayEvents, assign_days

__all__ = ["collect_days", "to_kg_event", "headlines_between"]

LOOKBACK = dt.timedelta(days=7)  # how far before the first trading day news is collected


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
    since = since or dates[0] - LOOKBACK - dt.timedelta(days=1)
    start = since + dt.timedelta(days=1)
    headlines = headlines_between(session=session, start=start, end=dates[-1])
    which = assign_days([h.date for h in headlines], dates, since=since)
    for headline, j in zip(headlines, which, strict=True):
        if j < 0:
            continue
        day = days[j]
        day.n_headlines += 1
        for row in headline.events:
            day.rows.append(row)
            day.n_linked += bool(row.entities)
            day.event_ids.append(row.id)
            day.ranks.append(headline.rank or DEFAULT_RANK)
            vectors[j].append(embed(*to_kg_event(row)))
    for day, vecs in zip(days, vectors, strict=True):
        day.vectors = np.stack(vecs) if vecs else np.zeros((0, dim), dtype=np.float32)
    return days
