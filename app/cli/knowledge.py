"""`kdtcn kg` and `kdtcn worker`: events, links, embeddings, and the workers that extract
events and train queued versions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import console, opened, progress_bar
from app.settings import PROJECT_ROOT, TRAIN_THREADS, get_settings

__all__ = ["kg_cli", "worker"]

kg_cli = typer.Typer(help="Knowledge pipeline: events, links, embeddings.", no_args_is_help=True)


@kg_cli.command("extract")
def kg_extract() -> None:
    """Extract and link the events of every stored headline not yet processed, in one process
    per core (disjoint shares of the headlines)."""
    import os

    from app.bootstrap import extract_all
    from kg.pipeline import EventPipeline

    with opened() as (settings, factory, _):
        pipeline = EventPipeline.load(data_dir=settings.data_dir)
        with progress_bar() as bar:
            n = extract_all(
                factory, pipeline, bar, settings=settings, processes=os.cpu_count() or 1
            )
    console.print(f"processed {n} headlines")


def worker(
    chunk: Annotated[int, typer.Option(help="Headlines claimed at a time")] = 256,
    poll: Annotated[float, typer.Option(help="Seconds between looks when none is pending")] = 2.0,
    drain: Annotated[
        bool, typer.Option(help="Exit when nothing is pending instead of waiting for more")
    ] = False,
    extract: Annotated[bool, typer.Option(help="Extract pending headlines' events")] = True,
    train: Annotated[bool, typer.Option(help="Train queued model versions (training jobs)")] = True,
    threads: Annotated[
        int,
        typer.Option(help="Torch threads while training (1: the versions `kdtcn train` gives)"),
    ] = TRAIN_THREADS,
) -> None:
    """Extract and link the events of pending headlines, and train queued model versions,
    until stopped.

    Any number of workers, on any number of machines, can share one PostgreSQL database:
    each claims its chunk with SELECT ... FOR UPDATE SKIP LOCKED, and a chunk whose worker
    dies goes back to the pool. An idle worker wakes on the NOTIFY of a write, or polls.
    Training jobs (app.services.jobs) are claimed under a lease the worker renews while it
    trains: a worker that dies lets its lease run out, and the job is trained again, never
    half-recorded. SIGTERM or Ctrl-C stops after the chunk in hand (a job in hand is left to
    its lease). On the embedded SQLite default `kdtcn serve` does both in the background
    itself. A new, empty database is given the schema; one at an older revision must be
    migrated first (`kdtcn db upgrade`, or a first `kdtcn serve`)."""
    import signal
    import threading

    from app.services.job_runner import JobRunner

    with opened() as (settings, factory, engine):
        runner = None
        if train:
            runner = JobRunner(
                factory,
                settings.artifacts_dir,
                lambda: _graph(settings),  # loaded at the first job
                poll=poll,
                threads=threads,
                on_done=_trained_line,
                reference=settings.company_reference,
            )
        if drain:
            if extract:
                _drain_extraction(settings, factory, chunk, poll)
            if runner is not None:
                _drain_training(runner, factory, poll)
            return
        loops: list[threading.Thread] = []
        extractor = None
        if extract:
            extractor = _extractor(settings, factory, chunk, poll)
            loops.append(threading.Thread(target=extractor.run, name="extractor"))
        if runner is not None:
            loops.append(threading.Thread(target=runner.run, name="job-runner"))

        def stop(*_: object) -> None:
            if extractor is not None:
                extractor.stop()
            if runner is not None:
                runner.stop(timeout=0)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        console.print(f"worker on {engine.url.render_as_string()}: waiting")
        for loop in loops:
            loop.daemon = True
            loop.start()
        while any(loop.is_alive() for loop in loops):
            for loop in loops:
                loop.join(0.5)
        console.print(
            f"stopped: processed {extractor.processed if extractor else 0} headlines, "
            f"trained {runner.trained if runner else 0} versions"
        )


def _graph(settings: Any) -> Any:
    from kg.graph import KnowledgeGraph

    return KnowledgeGraph.load(settings.data_dir / "wd40k")


def _trained_line(job: Any, row: Any, seconds: float) -> None:
    console.print(
        f"trained {job.symbol} {job.target} up to {job.cut} in {seconds:.1f} s (job {job.id})"
    )


def _report(n: int, seconds: float) -> None:
    console.print(f"{n} headlines in {seconds:.2f} s ({n / max(seconds, 1e-9):.0f}/s)")


def _extractor(settings: Any, factory: Any, chunk: int, poll: float) -> Any:
    """The extraction loop: woken at once by the NOTIFY of a write through the API
    (PostgreSQL), and every `poll` seconds for the rest (an import, a new pipeline version, a
    lost connection)."""
    from app.services.extraction import Extractor
    from kg.pipeline import EventPipeline

    pipeline = EventPipeline.load(data_dir=settings.data_dir)
    console.print(f"extraction {pipeline.version}")
    return Extractor(factory, pipeline, chunk=chunk, poll=poll, max_poll=poll, on_chunk=_report)


def _drain_extraction(settings: Any, factory: Any, chunk: int, poll: float) -> None:
    """Extract until nothing is pending, counting chunks other workers hold: a chunk whose
    worker dies comes back to the pool, and this worker takes it then."""
    from app.bootstrap import pending_count
    from app.services.extraction import extract_chunk
    from kg.pipeline import EventPipeline

    pipeline = EventPipeline.load(data_dir=settings.data_dir)
    started = at = time.perf_counter()
    total = 0
    while (n := extract_chunk(factory, pipeline, limit=chunk)) or pending_count(
        factory, pipeline.version
    ):
        if not n:
            time.sleep(poll / 4)
            continue
        total += n
        _report(n, time.perf_counter() - at)
        at = time.perf_counter()
    elapsed = time.perf_counter() - started
    console.print(f"nothing pending: processed {total} in {elapsed:.1f} s")


def _drain_training(runner: Any, factory: Any, poll: float) -> None:
    """Train until no job is claimable and none is held by another runner (a job whose
    runner dies comes back when its lease runs out, and this worker takes it then)."""
    from app.services.jobs import progress

    started = time.perf_counter()
    while True:
        if runner.step():
            continue
        with factory() as session:
            state = progress(session)
        if not state["running"]:
            break
        time.sleep(poll)
    elapsed = time.perf_counter() - started
    console.print(f"no job left: trained {runner.trained} in {elapsed:.1f} s")


@kg_cli.command("gold")
def kg_gold(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Gold JSONL files (default: the tuned-on and the blind set)"),
    ] = None,
) -> None:
    """Extraction P/R/F1 (ours and textacy's) and linking P/R on each hand-annotated gold set,
    reported separately: the rules were tuned on the first set; the blind one is honest."""
    from rich.table import Table

    from kg.gold import score_gold_sets
    from kg.pipeline import EventPipeline

    settings = get_settings()
    pipeline = EventPipeline.load(data_dir=settings.data_dir)
    for result in score_gold_sets(pipeline, paths, root=PROJECT_ROOT):
        table = Table(
            title=f"{result.name}: {result.path.name}, {result.n_headlines} headlines "
            f"({pipeline.version})"
        )
        for column in ("system", "precision", "recall", "F1", "gold", "predicted"):
            table.add_column(column)
        for system, s in result.scores.items():
            table.add_row(
                system,
                f"{s['precision']:.3f}",
                f"{s['recall']:.3f}",
                f"{s['f1']:.3f}",
                str(s["n_gold"]),
                str(s["n_pred"]),
            )
        console.print(table)


@kg_cli.command("embed")
def kg_embed(
    model: Annotated[str, typer.Option(help="Any PyKEEN model name")] = "TransE",
    dim: int = 32,
    epochs: int = 25,
    until: Annotated[str | None, typer.Option(help="Only events dated up to this day")] = None,
    without_kg: Annotated[bool, typer.Option(help="Event triples only (ablation)")] = False,
) -> None:
    """Train KG + event embeddings with PyKEEN and write a versioned artifact."""
    import datetime as dt

    from app.db import transaction
    from app.services.embeddings import build_embeddings
    from kg.graph import KnowledgeGraph

    with opened() as (settings, factory, _):
        kg = None if without_kg else KnowledgeGraph.load(settings.data_dir / "wd40k")
        with progress_bar() as bar, transaction(factory) as session:
            task = bar.add_task(f"{model} epochs", total=epochs)
            version, emb = build_embeddings(
                session=session,
                kg_triples=kg.triples() if kg else None,
                artifacts=settings.artifacts_dir,
                until=dt.date.fromisoformat(until) if until else None,
                model=model,
                dim=dim,
                epochs=epochs,
                progress=lambda epoch, total, loss: bar.update(task, completed=epoch),
            )
    meta = emb.meta
    console.print(
        f"embeddings {version}: {meta.get('n_triples')} triples, "
        f"{meta.get('train_seconds')} s, peak RSS {meta.get('peak_rss_mb')} MB"
    )
