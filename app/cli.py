"""`kdtcn` command line: database, import, knowledge pipeline, training, evaluation, serving."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from app.cli_protocol import protocol_cli
from app.settings import DEFAULT_COST_BPS, PROJECT_ROOT, get_settings
from evaluation.protocol import TUNE_TRIALS

__all__ = ["main", "cli"]

cli = typer.Typer(help="Knowledge-driven stock trend prediction (KDTCN).", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
import_cli = typer.Typer(help="Bulk imports.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(import_cli, name="import")
kg_cli = typer.Typer(help="Knowledge pipeline: events, links, embeddings.", no_args_is_help=True)
cli.add_typer(kg_cli, name="kg")
cli.add_typer(protocol_cli, name="protocol")

console = Console(stderr=True)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic revisions up to REVISION (default: head)."""
    from app.migrate import current_revision, upgrade

    settings = get_settings()
    settings.ensure_dirs()
    upgrade(settings.database_url, revision)
    console.print(f"database at revision {current_revision(settings.database_url)}")


@import_cli.command("djia-reddit")
def import_djia_reddit_cmd(
    directory: Annotated[Path, typer.Argument(help="Folder with the three Kaggle CSV files")],
) -> None:
    """Import DJIA_table.csv, Combined_News_DJIA.csv and RedditNews.csv (plain or .gz)."""
    from app.db import make_engine, make_sessionmaker
    from app.importer import import_djia_reddit

    settings = get_settings()
    engine = make_engine(settings.database_url)
    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        report = import_djia_reddit(directory, make_sessionmaker(engine), progress=on_progress)
    engine.dispose()
    console.print(
        f"prices: {report.prices_inserted} inserted, {report.prices_present} already present\n"
        f"headlines: {report.headlines_read} read, {report.headlines_inserted} inserted, "
        f"{report.headlines_present} already present (duplicates across files or runs), "
        f"{len(report.rejected)} rejected"
    )


@import_cli.command("history")
def import_history_cmd(
    symbol: Annotated[str, typer.Argument(help="DJIA or GSPC (models.history)")],
    start: Annotated[str | None, typer.Option(help="First day (ISO date)")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (ISO date)")] = None,
) -> None:
    """Import a symbol's bars from the bundled Yahoo history in data/prices/, idempotent."""
    import datetime as dt

    from app.db import make_engine, make_sessionmaker
    from app.importer import import_history

    settings = get_settings()
    engine = make_engine(settings.database_url)
    report = import_history(
        symbol,
        settings.data_dir,
        make_sessionmaker(engine),
        start=dt.date.fromisoformat(start) if start else None,
        end=dt.date.fromisoformat(end) if end else None,
    )
    engine.dispose()
    console.print(
        f"{symbol} prices: {report.prices_inserted} inserted, {report.prices_present} already "
        f"present; skipped: {'; '.join(report.rejected) or 'none'}"
    )


@kg_cli.command("extract")
def kg_extract() -> None:
    """Extract and link the events of every stored headline not yet processed, in one process
    per core (disjoint shares of the headlines)."""
    import os

    from app.bootstrap import extract_all, open_database
    from kg.pipeline import EventPipeline

    settings = get_settings()
    factory, engine = open_database(settings)
    pipeline = EventPipeline.load(data_dir=settings.data_dir)
    with progress_bar() as bar:
        n = extract_all(factory, pipeline, bar, settings=settings, processes=os.cpu_count() or 1)
    engine.dispose()
    console.print(f"processed {n} headlines")


@cli.command("worker")
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

    from app.bootstrap import open_database, pending_count
    from app.services.extraction import Extractor, extract_chunk
    from kg.pipeline import EventPipeline

    settings = get_settings()
    factory, engine = open_database(settings)
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
    engine.dispose()


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

    from app.bootstrap import open_database
    from app.db import transaction
    from app.services.embeddings import build_embeddings
    from kg.graph import KnowledgeGraph

    settings = get_settings()
    factory, engine = open_database(settings)
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
    engine.dispose()
    meta = emb.meta
    console.print(
        f"embeddings {version}: {meta.get('n_triples')} triples, "
        f"{meta.get('train_seconds')} s, peak RSS {meta.get('peak_rss_mb')} MB"
    )


@cli.command("train")
def train(
    symbol: str = "DJIA",
    model: str = "kdtcn",
    target: Annotated[
        list[str] | None, typer.Option(help="Targets of models.targets (repeat; default all)")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Cut: the last day whose label is fitted (default: last bar)")
    ] = None,
    walk_forward: Annotated[
        bool, typer.Option(help="A chain of versions, one per cut from --start every --every days")
    ] = False,
    start: Annotated[
        str | None, typer.Option(help="Walk-forward: the first day predicted out of sample")
    ] = None,
    every: Annotated[int, typer.Option(help="Walk-forward: trading days between cuts")] = 63,
    embedding: Annotated[
        str | None, typer.Option(help="Embedding version (must be built up to the cut)")
    ] = None,
    seed: int = 0,
    seeds: Annotated[
        int, typer.Option(help="Networks per version (seeds seed..seed+K-1), P averaged")
    ] = 3,
) -> None:
    """Train model versions on stored data up to a cut; write their artifacts and record them."""
    import datetime as dt

    from app.bootstrap import open_database
    from app.db import transaction
    from app.services.training import (
        out_of_sample_line,
        train_and_register,
        train_walk_forward,
    )
    from kg.graph import KnowledgeGraph
    from models.targets import TARGETS

    targets = target or list(TARGETS)
    for name in targets:
        if name not in TARGETS:
            raise typer.BadParameter(f"expected one of {sorted(TARGETS)}", param_hint="--target")
    if walk_forward and start is None:
        raise typer.BadParameter("--walk-forward needs --start", param_hint="--start")
    settings = get_settings()
    factory, engine = open_database(settings)
    graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
    started = time.perf_counter()
    with progress_bar() as bar, transaction(factory) as session:
        bar.add_task(f"training {model} {', '.join(targets)}", total=None)
        if walk_forward:
            assert start is not None
            rows = train_walk_forward(
                session=session,
                artifacts=settings.artifacts_dir,
                graph=graph,
                symbol=symbol,
                targets=targets,
                start=dt.date.fromisoformat(start),
                every=every,
                name=model,
                seed=seed,
                n_seeds=seeds,
                embedding_version=embedding,
                say=console.print,
            )
        else:
            rows = [
                train_and_register(
                    session=session,
                    artifacts=settings.artifacts_dir,
                    graph=graph,
                    symbol=symbol,
                    target=name,
                    name=model,
                    until=dt.date.fromisoformat(until) if until else None,
                    embedding_version=embedding,
                    seed=seed,
                    n_seeds=seeds,
                )
                for name in targets
            ]
    engine.dispose()
    for row in rows:
        console.print(
            f"{row.version}: fitted on labels up to {row.train_end}; "
            + out_of_sample_line(row.metrics)
        )
    console.print(f"{len(rows)} versions in {time.perf_counter() - started:.0f} s")


@cli.command("backtest")
def backtest(
    symbol: str = "DJIA",
    start: Annotated[str, typer.Option(help="First predicted day")] = "2015-01-02",
    end: Annotated[str, typer.Option(help="Last predicted day")] = "2016-06-30",
    target: Annotated[list[str] | None, typer.Option(help="Targets (repeat; default all)")] = None,
    cost_bps: Annotated[
        float, typer.Option(help="Basis points per change of position")
    ] = DEFAULT_COST_BPS,
    allow_in_sample: Annotated[
        bool, typer.Option(help="Serve the newest version where no out-of-sample one exists")
    ] = False,
) -> None:
    """Point-in-time predictions over a range: skill beside reference rules (always-up and
    reversal; for big_move never-big and persistence; for next_close price errors against the
    random walk), and the returns of trading the calls (the same figures as GET
    /v1/backtest)."""
    import datetime as dt

    from rich.table import Table

    from app.bootstrap import open_database
    from app.services.backtest import run_backtest
    from app.services.registry import ModelRegistry
    from kg.graph import KnowledgeGraph
    from models.targets import TARGETS

    settings = get_settings()
    factory, engine = open_database(settings)
    graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
    registry = ModelRegistry(settings.artifacts_dir, graph)
    for name in target or list(TARGETS):
        started = time.perf_counter()
        with factory() as session:
            result = run_backtest(
                session=session,
                registry=registry,
                symbol=symbol,
                start=dt.date.fromisoformat(start),
                end=dt.date.fromisoformat(end),
                target=name,
                cost_bps=cost_bps,
                allow_in_sample=allow_in_sample,
            )
        console.print(
            f"[bold]{symbol} {name}[/bold] {result['start']}..{result['end']}: "
            f"{result['n_days']} days, {len(result['versions'])} versions, "
            f"{result['in_sample_days']} in sample ({time.perf_counter() - started:.1f} s)"
        )
        table = Table("calls", "MCC", "bal. acc.", "hit rate", "AUC", "Brier", "share positive")
        for label, row in result["classification"].items():
            table.add_row(
                label,
                *(
                    "-" if row.get(k) is None else f"{row[k]:.3f}"
                    for k in ("mcc", "balanced_accuracy", "hit_rate", "auc", "brier", "share_up")
                ),
            )
        console.print(table)
        if result["regression"]:
            r = result["regression"]
            console.print(
                f"predicted close: RMSE {r['rmse']:.2f}, MAE {r['mae']:.2f}, MAPE "
                f"{r['mape']:.2f}%, Theil's U {r['theil_u']:.3f} (< 1 beats the random walk), "
                f"direction {r['direction_accuracy']:.3f}, 80% interval held the close on "
                f"{r['interval_coverage']:.0%} of days"
            )
        if result["strategy"]:
            table = Table(
                f"strategy (net of {cost_bps:g} bp)",
                "cumulative",
                "annual",
                "Sharpe",
                "max drawdown",
                "turnover",
            )
            for label, row in result["strategy"].items():
                table.add_row(
                    label,
                    f"{row['cumulative_return']:+.1%}",
                    f"{row['annual_return']:+.1%}",
                    f"{row['sharpe']:.2f}",
                    f"{row['max_drawdown']:.1%}",
                    f"{row['turnover']:.2f}",
                )
            console.print(table)
        else:
            console.print(result["note"])
    engine.dispose()


@cli.command("evaluate")
def evaluate(
    dataset: Annotated[str, typer.Option(help="Only djia-reddit for now")] = "djia-reddit",
    symbol: str = "DJIA",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the report (default: docs; with --confirm, the project's "
            "docs/confirmation)"
        ),
    ] = None,
    quick: Annotated[bool, typer.Option(help="1 seed, fixed origin, 4 models")] = False,
    tune_trials: Annotated[
        int,
        typer.Option(
            help="Optuna trials per target for TCN and KDTCN on folds inside the training "
            "period (0: the hand-set defaults)"
        ),
    ] = TUNE_TRIALS,
    write_tuned: Annotated[
        bool,
        typer.Option(
            help="Also write the search's choices to models/tuned.json, the settings served "
            "versions use (never implied by --out)"
        ),
    ] = False,
    confirm: Annotated[
        bool,
        typer.Option(
            help="Run the frozen protocol (evaluation/protocol.json) once on its confirmation "
            "period: price-only models on the bundled histories after the development data"
        ),
    ] = False,
    confirm_symbols: Annotated[
        list[str] | None,
        typer.Option(
            "--confirm-symbol",
            help="With --confirm: these symbols instead of the plan's (the report says so)",
        ),
    ] = None,
    again: Annotated[
        bool,
        typer.Option(help="With --confirm: write even where this hash's report already is"),
    ] = False,
) -> None:
    """Every model, every target, three schemes, on the same days; writes Markdown + JSON.

    On PostgreSQL the Optuna studies live in the service's database (several machines can
    add trials to one study); otherwise in memory."""
    if confirm:
        from app.cli_protocol import confirm as run_confirm

        run_confirm(out or PROJECT_ROOT / "docs" / "confirmation", confirm_symbols, again)
        return
    import json

    from app.bootstrap import open_database
    from app.services.evaluation import evaluate_dataset
    from evaluation.folds import EvalConfig
    from evaluation.report import to_markdown
    from evaluation.runs import neural_runs
    from kg.graph import KnowledgeGraph

    out = out or Path("docs")
    if dataset != "djia-reddit":
        raise typer.BadParameter("only djia-reddit is available", param_hint="--dataset")
    settings = get_settings()
    storage = settings.database_url if settings.database_url.startswith("postgresql") else None
    config = EvalConfig(tune_trials=tune_trials, tune_storage=storage)
    if quick:
        config = EvalConfig(
            seeds=(0,),
            schemes=("fixed_origin",),
            models=("TCN", "KDTCN", "LSTM", "EB-TCN"),
            tune_trials=0,
            select_variant=False,
            regression=False,
        )
    factory, engine = open_database(settings)
    graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
    with progress_bar() as bar, factory() as session:
        task = bar.add_task("model runs", total=neural_runs(config))
        result = evaluate_dataset(
            session=session,
            symbol=symbol,
            graph=graph,
            artifacts=settings.artifacts_dir,
            config=config,
            progress=lambda label: bar.update(task, advance=1, description=label),
            say=console.print,
            data_dir=settings.data_dir,
        )
    engine.dispose()
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1))
    (out / "results.md").write_text(to_markdown(result))
    if result.get("regression"):
        from evaluation.regression import plot_regression

        plot_regression(result["regression"], out / "regression.png")
    if result.get("tuning") and write_tuned:
        from models.tuned import write_tuned as write

        path = write(
            result["tuning"],
            tuned_until=config.train_end,
            source=f"kdtcn evaluate {result['protocol']['finished']}",
            selection=result.get("selection"),
        )
        console.print(f"wrote the chosen hyper-parameters for serving to {path}")
    elif result.get("tuning"):
        console.print(
            "the search's choices are in results.json; models/tuned.json (what serving uses) "
            "is unchanged (--write-tuned writes it)"
        )
    console.print(f"wrote {out / 'results.md'} in {result['protocol']['seconds'] / 60:.1f} min")


@cli.command("init")
def init() -> None:
    """Migrate and build what is missing from the bundled data (what `kdtcn serve` does on a
    first start), then exit: the one-off step before API replicas (`kdtcn serve
    --no-bootstrap`) and workers start."""
    from app.bootstrap import first_run

    with progress_bar() as bar:
        first_run(get_settings(), bar, console)


@cli.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    bootstrap: Annotated[
        bool, typer.Option(help="Build what is missing from the bundled data first")
    ] = True,
) -> None:
    """Migrate, build what is missing (import, events, embeddings, models), then serve."""
    import uvicorn

    from app.main import create_app

    settings = get_settings()
    pipeline = None
    if bootstrap and settings.bootstrap:
        from app.bootstrap import first_run

        with progress_bar() as bar:
            pipeline = first_run(settings, bar, console)
    factory = (lambda _s: pipeline) if pipeline is not None else None
    app = create_app(settings, **({"pipeline_factory": factory} if factory else {}))
    # No Server header; the access log is app.middleware.AccessLog (paths without queries).
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, server_header=False)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cli()


if __name__ == "__main__":
    main()
