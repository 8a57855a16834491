"""SQLAlchemy tables. The schema itself is created only by the Alembic revisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "Headline",
    "HeadlineSymbol",
    "UniverseStock",
    "Price",
    "Event",
    "EventEntity",
    "ModelVersion",
    "TrainingJob",
]


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A time-zone-aware instant stored in UTC, read back aware on both backends (SQLite
    keeps no offset: its values are UTC by construction and get the UTC zone on reading)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored as an instant")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base of the service's tables; its metadata is Alembic's target metadata."""


class Headline(Base):
    """A stored item of news (a headline or a tweet): its source, date, rank of the day and
    cleaned text, optionally when it was published (UTC), the symbols it is about and its
    id at the source, with the events extracted from it.

    Unique per (source, date, content hash), and per (source, external id) for items that
    carry one. An item with an id hashes its id with its text, so two posts of the same words
    (retweets, bots) are two items, and the same id posted again is one."""

    __tablename__ = "headlines"
    __table_args__ = (
        UniqueConstraint("source", "date", "content_hash", name="uq_headline"),
        Index("uq_headline_external", "source", "external_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    rank: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Version of the extractor+linker that processed this headline; NULL = not processed yet.
    extracted_version: Mapped[str | None] = mapped_column(String(32))
    # When it was last processed (the ingestion rate of GET /v1/ingest); NULL = pending.
    extracted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # When it was published (UTC); NULL = known by its date only (counted as published at
    # the end of that date).
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    external_id: Mapped[str | None] = mapped_column(String(128))  # its id at the source

    events: Mapped[list[Event]] = relationship(
        back_populates="headline", cascade="all, delete-orphan", order_by="Event.position"
    )
    symbols: Mapped[list[HeadlineSymbol]] = relationship(
        cascade="all, delete-orphan", order_by="HeadlineSymbol.symbol"
    )


class HeadlineSymbol(Base):
    """A symbol an item of news is about (a tweet's cashtags, or `symbols` posted with it)."""

    __tablename__ = "headline_symbols"

    headline_id: Mapped[int] = mapped_column(
        ForeignKey("headlines.id", ondelete="CASCADE"), primary_key=True
    )
    symbol: Mapped[str] = mapped_column(String(15), primary_key=True, index=True)


class UniverseStock(Base):
    """A stock of a named universe (such as `stocknet`, ACL18 StockNet's stocks), with its
    company name and sector as the source lists them."""

    __tablename__ = "universe_stocks"

    universe: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(15), primary_key=True)
    company: Mapped[str | None] = mapped_column(Text)
    sector: Mapped[str | None] = mapped_column(String(64))


class Price(Base):
    """One daily price bar of a symbol (open, high, low, close, adjusted close, volume),
    unique per (symbol, date)."""

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("symbol", "date", name="uq_price"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(15), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    adj_close: Mapped[float] = mapped_column(Float)
    volume: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Event(Base):
    """One (subject, predicate, object) event of a headline, its `position` among the
    headline's events, with character offsets into the headline text and its linked entities."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("headline_id", "position", name="uq_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    headline_id: Mapped[int] = mapped_column(
        ForeignKey("headlines.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    subject_head: Mapped[str] = mapped_column(String(128))
    subject_start: Mapped[int] = mapped_column(Integer)
    subject_end: Mapped[int] = mapped_column(Integer)
    predicate: Mapped[str] = mapped_column(String(128))
    predicate_text: Mapped[str] = mapped_column(Text)
    predicate_start: Mapped[int] = mapped_column(Integer)
    predicate_end: Mapped[int] = mapped_column(Integer)
    object: Mapped[str | None] = mapped_column(Text)
    object_head: Mapped[str | None] = mapped_column(String(128))
    object_start: Mapped[int | None] = mapped_column(Integer)
    object_end: Mapped[int | None] = mapped_column(Integer)
    negated: Mapped[bool] = mapped_column(Boolean, default=False)

    headline: Mapped[Headline] = relationship(back_populates="events")
    entities: Mapped[list[EventEntity]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )


class EventEntity(Base):
    """A mention linked to a Wikidata entity (Q-id) for an event: its role ("subject",
    "object", "headline" or "mention"), offsets into the headline text and score in [0, 1]."""

    __tablename__ = "event_entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    mention: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    entity_id: Mapped[str] = mapped_column(String(32), index=True)
    label: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)

    event: Mapped[Event] = relationship(back_populates="entities")


class ModelVersion(Base):
    """A trained model version of a symbol and target: where its artifact lies, the span it
    was trained on, its metrics and configuration, unique per (name, symbol, target, version)."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("name", "symbol", "target", "version", name="uq_model_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(15))
    target: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(64))
    artifact_path: Mapped[str] = mapped_column(Text)
    embedding_version: Mapped[str | None] = mapped_column(String(64))
    train_start: Mapped[dt.date | None] = mapped_column(Date)
    train_end: Mapped[dt.date | None] = mapped_column(Date)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class TrainingJob(Base):
    """A model version to train: one cut of a walk-forward chain (app.services.jobs).

    Queued, then claimed by a runner under a lease (`worker`, `lease_until`) that the runner
    renews while it trains; a runner that dies lets the lease run out and the job is claimed
    again. The version's row and the job's `done` are written in one transaction, so a job
    is never half-recorded. Unique per (symbol, target, name, cut, embedding): enqueueing a
    chain twice adds nothing."""

    __tablename__ = "training_jobs"
    __table_args__ = (
        UniqueConstraint(
            "symbol", "target", "name", "cut", "embedding_version", name="uq_training_job"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(15))
    target: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    cut: Mapped[dt.date] = mapped_column(Date)  # the version's train_end
    score_end: Mapped[dt.date | None] = mapped_column(Date)  # last out-of-sample day scored
    embedding_version: Mapped[str | None] = mapped_column(String(64))
    embedding_until: Mapped[dt.date | None] = mapped_column(Date)  # its events' last date
    seed: Mapped[int] = mapped_column(Integer, default=0)
    n_seeds: Mapped[int] = mapped_column(Integer)
    # models.train.TrainConfig fields that differ from its defaults ({}: the served defaults)
    train: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(8), index=True)  # queued running done failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
