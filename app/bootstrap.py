"""First-run work shared by the CLI and `kdtcn serve`: each step is skipped when done."""

from __future__ import annotations

import logging
import time
from typing import Any

from rich.progress import Progress
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, transaction
from app.services.headlines import EventSource, extract_pending
from app.settings import Settings
from app.tables import Headline, Price

__all__ = ["open_database", "extract_all", "pending_count", "first_run"]

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


def first_run(settings: Settings, bar: Progress, say: Any) -> Any:
    """Build whatever is missing for the bundled demo: schema, data, events, embeddings and a
    KDTCN per target. Each step is skipped when already done; returns the loaded pipeline."""
    from app.importer import SYMBOL, import_djia_reddit
    from app.migrate import upgrade
    from app.services.embeddings import build_embeddings, latest_embeddings
    from app.services.model_versions import latest_version
    from app.services.training import train_and_register
    from kg.pipeline import EventPipeline
    from models.targets import TARGETS

    started = step = time.perf_counter()

    def done(what: str) -> None:
        nonlocal step
        now = time.perf_counter()
        say.print(f"first start: {what} in {now - step:.0f} s")
        step = now

    settings.ensure_dirs()  # a clean clone has no var/: create it before the first migration
    upgrade(settings.database_url)
    factory, engine = open_database(settings)
    with factory() as session:
        has_prices = session.scalar(select(func.count()).select_from(Price)) or 0
    if not has_prices:
        say.print("first start: importing the bundled DJIA + Reddit data")
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"import {stage}", total=total)
            bar.update(tasks[stage], completed=done)

        import_djia_reddit(settings.data_dir / "djia_reddit", factory, progress=on_progress)
        done("imported the bundled data")
    pipeline = EventPipeline.load(data_dir=settings.data_dir)
    step = time.perf_counter()
    processed = (
        extract_all(factory, pipeline, bar) if pending_count(factory, pipeline.version) else 0
    )
    if processed:
        done(f"extracted and linked the events of {processed} headlines")
    version = latest_embeddings(settings.artifacts_dir, kind="kg")
    if version is None or processed:  # new events: embeddings keyed by their content
        task = bar.add_task("embeddings (TransE)", total=None)

        def on_epoch(epoch: int, epochs: int, loss: float) -> None:
            bar.update(task, total=epochs, completed=epoch)

        with transaction(factory) as session:
            version, _ = build_embeddings(
                session=session,
                kg_triples=pipeline.graph.triples(),
                artifacts=settings.artifacts_dir,
                until=None,
                progress=on_epoch,
            )
        done(f"trained the embeddings {version}")
    for target in TARGETS:
        with transaction(factory) as session:
            current = latest_version(session=session, symbol=SYMBOL, target=target)
            if current is None or current.embedding_version != version:
                task = bar.add_task(f"train KDTCN {target}", total=None)
                train_and_register(
                    session=session,
                    artifacts=settings.artifacts_dir,
                    graph=pipeline.graph,
                    symbol=SYMBOL,
                    target=target,
                    embedding_version=version,
                )
                bar.update(task, total=1, completed=1)
                done(f"trained KDTCN for {target}")
    engine.dispose()
    say.print(f"ready after {time.perf_counter() - started:.0f} s of set-up")
    return pipeline
