"""First-run work shared by the CLI and `kdtcn serve`: each step is skipped when done."""

from __future__ import annotations

import logging

from rich.progress import Progress
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, transaction
from app.services.headlines import EventSource, extract_pending
from app.settings import Settings
from app.tables import Headline

__all__ = ["open_database", "extract_all", "pending_count"]

log = logging.getLogger(__name__)


def open_database(settings: Settings) -> tuple[sessionmaker[Session], Engine]:
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    return make_sessionmaker(engine), engine


def pending_count(factory: sessionmaker[Session], version: str) -> int:
    with factory() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Headline)
                .where(
                    or_(Headline.extracted_version.is_(None), Headline.extracted_version != version)
                )
            )
            or 0
        )


def extract_all(
    factory: sessionmaker[Session], pipeline: EventSource, bar: Progress | None = None
) -> int:
    """Process every pending headline in chunks, one transaction each (resumable)."""
    total = pending_count(factory, pipeline.version)
    task = bar.add_task("events", total=total) if bar else None
    done = 0
    while True:
        with transaction(factory) as session:
            n = extract_pending(session=session, pipeline=pipeline, limit=1000)
        if not n:
            return done
        done += n
        if bar is not None and task is not None:
            bar.update(task, completed=done)
