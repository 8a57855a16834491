"""First-run work shared by the CLI and `kdtcn serve`: each step is skipped when done."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, transaction
from app.services.extraction import extract_chunk, pending
from app.services.headlines import EventSource
from app.settings import Settings
from app.tables import Price

__all__ = [
    "open_database",
    "extract_all",
    "pending_count",
    "first_run",
    "has_walk_forward",
    "SERVED_SYMBOLS",
]

log = logging.getLogger(__name__)

# The demo's point-in-time versions: the last 18 months of the data are predicted out of
# sample by a chain of versions refitted every quarter (63 trading days).
WALK_FORWARD_START = dt.date(2015, 1, 2)
WALK_FORWARD_EVERY = 63
# Symbols the first start serves: DJIA from the Kaggle table, and the S&P 500 from the
# bundled Yahoo history (models.history) over the same days, both with the Reddit news.
SECOND_SYMBOL = "GSPC"
SERVED_SYMBOLS = ("DJIA", SECOND_SYMBOL)


def open_database(settings: Settings) -> tuple[sessionmaker[Session], Engine]:
    """Create the configured folders (`Settings.ensure_dirs`), then an engine on
    `settings.database_url` and a session factory bound to it; the caller disposes of the
    engine."""
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    return make_sessionmaker(engine), engine


def pending_count(factory: sessionmaker[Session], version: str) -> int:
    """How many headlines `version` of the pipeline has not processed yet."""
    with factory() as session:
        return session.scalar(select(func.count()).where(pending(version))) or 0


def extract_all(
    factory: sessionmaker[Session],
    pipeline: EventSource,
    bar: Progress | None = None,
    *,
    settings: Settings | None = None,
    processes: int = 1,
) -> int:
    """Process every pending headline in chunks of 1,000, each stored in one transaction (so
    an interrupted run resumes where it stopped).

    With `processes` > 1 (and the `settings` to open the database and load the pipeline
    again) the work is split by headline id modulo `processes`: this process takes one share
    with `pipeline`, and `processes - 1` spawned ones load their own pipeline and take the
    others, so the bulk extraction uses every core. The shares are disjoint, so no headline
    is processed twice on SQLite or PostgreSQL."""
    total = pending_count(factory, pipeline.version)
    task = bar.add_task("events", total=total) if bar else None

    def progress() -> None:
        if bar is not None and task is not None:
            bar.update(task, completed=total - pending_count(factory, pipeline.version))

    if processes <= 1 or settings is None or total < 1000:
        done = 0
        while n := extract_chunk(factory, pipeline, limit=1000):
            done += n
            if bar is not None and task is not None:
                bar.update(task, completed=done)
        return done
    with ProcessPoolExecutor(processes - 1, mp_context=mp.get_context("spawn")) as pool:
        others = [pool.submit(drain_shard, settings, k, processes) for k in range(1, processes)]
        done = 0
        while n := extract_chunk(factory, pipeline, limit=1000, shard=(0, processes)):
            done += n
            progress()
        for future in others:
            done += future.result()
    progress()
    return done


def drain_shard(settings: Settings, k: int, n: int) -> int:
    """Process every pending headline whose id is `k` modulo `n` (a process of extract_all)."""
    from kg.pipeline import EventPipeline

    factory, engine = open_database(settings)
    pipeline = EventPipeline.load(data_dir=settings.data_dir)
    done = 0
    while m := extract_chunk(factory, pipeline, limit=1000, shard=(k, n)):
        done += m
    engine.dispose()
    return done


def has_walk_forward(session: Session, symbol: str, target: str, start: dt.date) -> bool:
    """Whether a version of `symbol` and `target` was fitted up to the day before `start`
    (the first cut of a walk-forward chain; a chain is recorded in one transaction)."""
    from app.tables import ModelVersion

    found = session.scalar(
        select(func.count())
        .select_from(ModelVersion)
        .where(
            ModelVersion.symbol == symbol,
            ModelVersion.target == target,
            ModelVersion.train_end < start,
        )
    )
    return bool(found)


def chain_embedding(factory: sessionmaker[Session], symbol: str) -> str | None:
    """The embedding of `symbol`'s newest walk-forward chain (of its KDTCN versions, the
    newest with the latest cut before WALK_FORWARD_START: the chain's first cut), or None."""
    from app.tables import ModelVersion

    with factory() as session:
        return session.scalar(
            select(ModelVersion.embedding_version)
            .where(
                ModelVersion.symbol == symbol,
                ModelVersion.name == "KDTCN",
                ModelVersion.train_end < WALK_FORWARD_START,
                ModelVersion.embedding_version.is_not(None),
            )
            .order_by(ModelVersion.train_end.desc(), ModelVersion.id.desc())
            .limit(1)
        )


def _enqueue_chains(
    factory: sessionmaker[Session],
    settings: Settings,
    pipeline: Any,
    bar: Progress,
    *,
    fresh: bool,
) -> int:
    """Queue the walk-forward chain of every served symbol and target that has neither a
    complete chain nor queued jobs (every one after new events: `fresh`); how many jobs."""
    from app.importer import SYMBOL
    from app.services.walk_forward import enqueue_walk_forward
    from app.tables import TrainingJob
    from models.targets import TARGETS

    queued = 0
    for symbol in SERVED_SYMBOLS:
        with factory() as session:
            waiting = set(
                session.scalars(
                    select(TrainingJob.target).where(
                        TrainingJob.symbol == symbol, TrainingJob.status.in_(("queued", "running"))
                    )
                )
            )
            missing = [
                t
                for t in TARGETS
                if t not in waiting and not has_walk_forward(session, symbol, t, WALK_FORWARD_START)
            ]
        if fresh:  # new events: the embedding and every version on it are rebuilt
            missing = list(TARGETS)
        if not missing:
            continue
        # One embedding for every symbol: it depends on the events and the first cut only,
        # not on the symbol. The second symbol's chain (same trading days, so the same
        # first cut) names the first's; build_embeddings would find the same artifact by its
        # inputs too, but only after re-reading every event to hash them.
        shared = None if symbol == SYMBOL else _queued_embedding(factory, SYMBOL)
        task = bar.add_task(f"{symbol}: embedding (TransE)", total=None)

        def on_epoch(epoch: int, epochs: int, loss: float, task: Any = task) -> None:
            bar.update(task, total=epochs, completed=epoch)

        with transaction(factory) as session:
            if fresh:  # jobs queued on the previous events' embedding are not wanted now
                session.execute(
                    delete(TrainingJob).where(
                        TrainingJob.symbol == symbol, TrainingJob.status == "queued"
                    )
                )
            added, embedding = enqueue_walk_forward(
                session=session,
                artifacts=settings.artifacts_dir,
                graph=pipeline.graph,
                symbol=symbol,
                targets=missing,
                start=WALK_FORWARD_START,
                every=WALK_FORWARD_EVERY,
                embedding_version=shared,
                progress=on_epoch,
            )
        bar.update(task, visible=False)
        log.info("walk-forward %s: %d versions queued on embedding %s", symbol, added, embedding)
        queued += added
    return queued


def _queued_embedding(factory: sessionmaker[Session], symbol: str) -> str | None:
    """The embedding of `symbol`'s newest queued chain (its newest job's), else of its
    newest recorded chain."""
    from app.tables import TrainingJob

    with factory() as session:
        queued = session.scalar(
            select(TrainingJob.embedding_version)
            .where(TrainingJob.symbol == symbol, TrainingJob.embedding_version.is_not(None))
            .order_by(TrainingJob.id.desc())
            .limit(1)
        )
    return queued or chain_embedding(factory, symbol)


def _first_job(factory: sessionmaker[Session]) -> Any:
    """The queued job of the newest answer of the default target: the first symbol's
    newest cut (None when it is trained, or none is queued)."""
    from app.importer import SYMBOL
    from app.tables import TrainingJob
    from models.targets import DEFAULT_TARGET

    with factory() as session:
        return session.scalars(
            select(TrainingJob)
            .where(
                TrainingJob.symbol == SYMBOL,
                TrainingJob.target == DEFAULT_TARGET,
                TrainingJob.status == "queued",
            )
            .order_by(TrainingJob.cut.desc())
            .limit(1)
        ).first()


def _drain(runner: Any, factory: sessionmaker[Session], bar: Progress) -> int:
    """Train every queued job with `runner` (others may share them); how many it trained."""
    from app.services.jobs import progress

    task = bar.add_task("training versions", total=None)
    trained = 0
    while True:
        if runner.step():
            trained += 1
            with factory() as session:
                state = progress(session)
            bar.update(task, total=trained + state["queued"] + state["running"], completed=trained)
            continue
        with factory() as session:
            state = progress(session)
        if not state["running"]:  # nothing claimable, and nothing another runner holds
            return trained
        time.sleep(2.0)


def first_run(settings: Settings, bar: Progress, say: Console, *, complete: bool = False) -> Any:
    """Build what the newest answer of the default target needs, and queue the rest: schema,
    data, events, per symbol and target a walk-forward chain of KDTCN versions (with their
    embedding) queued as training jobs, so the demo's last 18 months are answered out of
    sample, and the newest default-target version of the first symbol trained here. The other
    jobs are trained by the service's background runner, newest cut first (or here, with
    `complete`). Each step is skipped when already done; returns the loaded pipeline."""
    from app.importer import SYMBOL, import_djia_reddit, import_history
    from app.migrate import upgrade
    from app.services.job_runner import service_runner
    from app.services.jobs import progress
    from kg.pipeline import EventPipeline

    started = step = time.perf_counter()

    def done(what: str) -> None:
        nonlocal step
        now = time.perf_counter()
        say.print(f"first start: {what} in {now - step:.0f} s")
        step = now

    settings.ensure_dirs()  # a clean clone has no var/: create it before the first migration
    upgrade(settings.database_url)
    factory, engine = open_database(settings)
    # The demo's own bars, not any bars: a database where `kdtcn import stocknet` (or a user's
    # POST /v1/prices) came first still gets the bundled data.
    with factory() as session:
        has_prices = (
            session.scalar(select(func.count()).select_from(Price).where(Price.symbol == SYMBOL))
            or 0
        )
    if not has_prices:
        say.print("first start: importing the bundled DJIA + Reddit data")
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"import {stage}", total=total)
            bar.update(tasks[stage], completed=done)

        import_djia_reddit(settings.data_dir / "djia_reddit", factory, progress=on_progress)
        done("imported the bundled data")
    # The second symbol, served with the same news: its bars of the DJIA table's trading
    # days (2008-08-08..2016-07-01 in the bundle), from the long Yahoo history.
    with factory() as session:
        first, last = session.execute(
            select(func.min(Price.date), func.max(Price.date)).where(Price.symbol == SYMBOL)
        ).one()
        has_second = session.scalar(
            select(func.count()).select_from(Price).where(Price.symbol == SECOND_SYMBOL)
        )
    if first is not None and not has_second:
        step = time.perf_counter()
        report = import_history(SECOND_SYMBOL, settings.data_dir, factory, start=first, end=last)
        done(f"imported {report.prices_inserted} {SECOND_SYMBOL} bars ({first}..{last})")
    pipeline = EventPipeline.load(data_dir=settings.data_dir)
    # The pipeline serves this process to its end: its ~800k objects are left out of the
    # cyclic collector (as the service's start does), whose full collections walked them all
    # while the first version's series was loaded (3 s of 13).
    gc.freeze()
    step = time.perf_counter()
    processed = (
        extract_all(factory, pipeline, bar, settings=settings, processes=os.cpu_count() or 1)
        if pending_count(factory, pipeline.version)
        else 0
    )
    if processed:
        done(f"extracted and linked the events of {processed} headlines")
    queued = _enqueue_chains(factory, settings, pipeline, bar, fresh=bool(processed))
    if queued:
        done(f"embedding, {queued} versions queued")
    runner = service_runner(settings, factory, pipeline.graph)
    newest = _first_job(factory)
    if newest is not None:
        runner.step(only=newest.id)
        done(f"trained {newest.symbol} {newest.target} up to {newest.cut}")
    if complete:
        left = _drain(runner, factory, bar)
        if left:
            done(f"trained {left} more versions")
    else:
        with factory() as session:
            waiting = progress(session)
        if waiting["queued"] or waiting["running"]:
            left = waiting["queued"] + waiting["running"]
            say.print(f"first start: {left} versions to train in the background (GET /readyz)")
    engine.dispose()
    say.print(f"ready after {time.perf_counter() - started:.0f} s of set-up")
    return pipeline
