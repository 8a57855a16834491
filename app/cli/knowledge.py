"""`kdtcn kg` and `kdtcn worker`: events, links, embeddings and the extraction workers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import console, opened, progress_bar
from app.settings import PROJECT_ROOT, get_settings

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
) -> None:
    """Extract and link the events of pending headlines until stopped.

    Any number of workers, on any number of machines, can share one PostgreSQL database:
    each claims its chunk with SELECT ... FOR UPDATE SKIP LOCKED, and a chunk whose worker
    dies goes back to the pool. An idle worker wakes on the NOTIFY of a write, or polls.
    SIGTERM or Ctrl-C stops after the chunk in hand. On the embedded SQLite default `kdtcn
    serve` extracts in the background itself. The database must be migrated (`kdtcn db
    upgrade`, or a first `kdtcn serve`)."""
    import signal

    from app.bootstrap import pending_count
    from app.services.extraction import Extractor, extract_chunk
    from kg.pipeline import EventPipeline

    with opened() as (settings, factory, engine):
        pipeline = EventPipeline.load(data_dir=settings.data_dir)
        started = time.perf_counter()

        def report(n: int, seconds: float) -> None:
            console.print(f"{n} headlines in {seconds:.2f} s ({n / max(seconds, 1e-9):.0f}/s)")

        if drain:
            total, at = 0, started
            # Until nothing is pending, counting chunks other workers hold: a chunk whose worker
            # dies comes back to the pool, and this worker takes it then.
            while (n := extract_chunk(factory, pipeline, limit=chunk)) or pending_count(
                factory, pipeline.version
            ):
                if not n:
                    time.sleep(poll / 4)
                    continue
                total += n
                report(n, time.perf_counter() - at)
                at = time.perf_counter()
            elapsed = time.perf_counter() - started
            console.print(f"nothing pending: processed {total} in {elapsed:.1f} s")
        else:
            # Woken at once by the NOTIFY of a write through the API (PostgreSQL), and every
            # `poll` seconds for the rest (an import, a new pipeline version, a lost connection).
            extractor = Extractor(
                factory, pipeline, chunk=chunk, poll=poll, max_poll=poll, on_chunk=report
            )
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: extractor.stop())
            console.print(f"worker {pipeline.version} on {engine.url.render_as_string()}: waiting")
            extractor.run()
            console.print(f"stopped: processed {extractor.processed}")


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
