"""The read behind every answer's inputs (app.services.daily): plain rows that say what the
ORM's relationships say, and the per-version cache of event vectors; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.db import transaction
from app.services.daily import VectorCache, collect_days, headlines_between, to_kg_event
from app.tables import Event, EventEntity, Headline


def _event(position: int, subject: str, links: list[tuple[str, str]]) -> Event:
    return Event(
        position=position,
        subject=subject,
        subject_head=subject.split()[-1],
        subject_start=0,
        subject_end=len(subject),
        predicate="leave",
        predicate_text="leaves",
        predicate_start=len(subject) + 1,
        predicate_end=len(subject) + 7,
        object="the EU" if position else None,
        object_head="EU" if position else None,
        object_start=len(subject) + 8 if position else None,
        object_end=len(subject) + 14 if position else None,
        negated=bool(position),
        entities=[
            EventEntity(role=role, mention=qid, start=0, end=2, entity_id=qid, label=qid, score=0.9)
            for role, qid in links
        ],
    )


def test_headlines_between_reads_what_the_orm_reads(session_factory) -> None:  # type: ignore[no-untyped-def]
    days = [dt.date(2016, 6, 22), dt.date(2016, 6, 23), dt.date(2016, 6, 24)]
    with transaction(session_factory) as session:
        for n, day in enumerate(days):
            for rank in (2, 1):
                session.add(
                    Headline(
                        source="test",
                        date=day,
                        rank=rank,
                        text=f"UK leaves EU {n}-{rank}",
                        content_hash=f"{n}-{rank}",
                        # inserted out of position order, links in the order they are added
                        events=[
                            _event(1, "UK", [("subject", "Q145"), ("object", "Q458")]),
                            _event(0, "Britain", [("subject", "Q145")]),
                        ],
                    )
                )
    with session_factory() as session:
        read = headlines_between(session=session, start=days[1], end=days[2])
        orm = list(
            session.scalars(
                select(Headline)
                .where(Headline.date >= days[1], Headline.date <= days[2])
                .options(selectinload(Headline.events).selectinload(Event.entities))
                .order_by(Headline.date, Headline.rank, Headline.id)
            )
        )
    assert [(h.date, h.rank) for h, _ in read] == [(d, r) for d in days[1:] for r in (1, 2)]
    assert [h.id for h, _ in read] == [h.id for h in orm]
    for (headline, events), stored in zip(read, orm, strict=True):
        assert headline.text == stored.text
        assert [e.id for e in events] == [e.id for e in stored.events]
        assert [e.subject for e in events] == ["Britain", "UK"]  # by position
        assert all(e.headline is headline for e in events)
        for mine, theirs in zip(events, stored.events, strict=True):
            assert to_kg_event(mine) == to_kg_event(theirs)
            assert [x.entity_id for x in mine.entities] == [x.entity_id for x in theirs.entities]
    assert [x.role for x in read[0][1][1].entities] == ["subject", "object"]


def test_the_vector_cache_embeds_each_event_once_until_it_changes(session_factory) -> None:  # type: ignore[no-untyped-def]
    day = dt.date(2016, 6, 24)
    with transaction(session_factory) as session:
        session.add(
            Headline(
                source="test",
                date=day,
                rank=1,
                text="UK leaves EU",
                content_hash="h",
                events=[
                    _event(0, "Britain", [("subject", "Q145")]),
                    _event(1, "UK", [("subject", "Q145"), ("object", "Q458")]),
                ],
            )
        )
    calls: list[str] = []

    def embed(event, links):  # type: ignore[no-untyped-def]
        calls.append(event.subject.text)
        return np.full(3, float(len(links)), np.float32)

    cache = VectorCache()
    with session_factory() as session:
        first = collect_days(session=session, dates=[day], embed=embed, dim=3, cache=cache)
        again = collect_days(session=session, dates=[day], embed=embed, dim=3, cache=cache)
    assert calls == ["Britain", "UK"]
    np.testing.assert_array_equal(first[0].vectors, [[1, 1, 1], [2, 2, 2]])
    np.testing.assert_array_equal(again[0].vectors, first[0].vectors)
    with transaction(session_factory) as session:  # a re-linked event is embedded again
        link = session.scalars(select(EventEntity).where(EventEntity.entity_id == "Q458")).one()
        link.entity_id = "Q1"
    with session_factory() as session:
        collect_days(session=session, dates=[day], embed=embed, dim=3, cache=cache)
    assert calls == ["Britain", "UK", "UK"]


def test_a_pending_headline_is_counted_and_its_processing_changes_the_cache_key(
    session_factory,
) -> None:  # type: ignore[no-untyped-def]
    """Stored before extraction, a headline counts as pending in the day's coverage; once
    its events are stored the answers' data stamp (and the backtests' fingerprint) changes, so
    no cached answer outlives it."""
    from app.services.answers import data_stamp, fingerprint
    from app.services.headlines import replace_events
    from kg.types import Event as EventTuple
    from kg.types import Phrase

    day = dt.date(2016, 6, 24)
    with transaction(session_factory) as session:
        session.add(Headline(source="t", date=day, rank=1, text="UK leaves EU", content_hash="a"))
    with session_factory() as session:
        before = fingerprint(session, "DJIA", day, day)
        stamp_before = data_stamp(session, "DJIA")
        (days,) = collect_days(session=session, dates=[day], embed=lambda *_: np.ones(2), dim=2)
    assert (days.n_headlines, days.n_pending, len(days.event_ids)) == (1, 1, 0)

    found = EventTuple(
        subject=Phrase("UK", 0, 2, "UK"),
        predicate=Phrase("leaves", 3, 9, "leave"),
        object=Phrase("EU", 10, 12, "EU"),
        negated=False,
    )
    with transaction(session_factory) as session:
        (headline_id,) = session.scalars(select(Headline.id)).all()
        assert replace_events(session, "v1", [headline_id], [[(found, [])]]) == 1
    with session_factory() as session:
        after = fingerprint(session, "DJIA", day, day)
        stamp_after = data_stamp(session, "DJIA")
        (days,) = collect_days(session=session, dates=[day], embed=lambda *_: np.ones(2), dim=2)
    assert (days.n_headlines, days.n_pending, len(days.event_ids)) == (1, 0, 1)
    assert after != before
    assert stamp_after != stamp_before
