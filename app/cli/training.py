"""`kdtcn train` and `kdtcn backtest`: model versions and their point-in-time record."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from app.cli.common import console, opened, progress_bar
from app.settings import DEFAULT_COST_BPS

__all__ = ["backtest", "train", "train_universe"]

# The walk-forward options of `kdtcn train` and `kdtcn train-universe`.
WalkForward = Annotated[
    bool, typer.Option(help="A chain of versions, one per cut from --start every --every days")
]
WalkForwardStart = Annotated[
    str | None, typer.Option(help="Walk-forward: the first day predicted out of sample")
]
WalkForwardEvery = Annotated[int, typer.Option(help="Walk-forward: trading days between cuts")]


TargetNames = Annotated[
    list[str] | None, typer.Option(help="Targets of models.targets (repeat; default all)")
]
Until = Annotated[
    str | None, typer.Option(help="Cut: the last day whose label is fitted (default: last bar)")
]
Embedding = Annotated[
    str | None, typer.Option(help="Embedding version (must be built up to the cut)")
]
Seeds = Annotated[int, typer.Option(help="Networks per version (seeds seed..seed+K-1), P averaged")]
Enqueue = Annotated[
    bool,
    typer.Option(
        help="Walk-forward: queue the chain as training jobs for `kdtcn serve` and `kdtcn "
        "worker` processes to train (newest cut first) instead of training it here"
    ),
]


def _checked_targets(
    target: list[str] | None, walk_forward: bool, start: str | None, enqueue: bool
) -> list[str]:
    """The targets asked (default: every target), after the options' checks; a clear error
    naming the option otherwise."""
    from models.targets import TARGETS

    targets = target or list(TARGETS)
    for name in targets:
        if name not in TARGETS:
            raise typer.BadParameter(f"expected one of {sorted(TARGETS)}", param_hint="--target")
    if walk_forward and start is None:
        raise typer.BadParameter("--walk-forward needs --start", param_hint="--start")
    if enqueue and not walk_forward:
        raise typer.BadParameter(
            "--enqueue queues a chain: add --walk-forward", param_hint="--enqueue"
        )
    return targets


def train(
    symbol: str = "DJIA",
    model: str = "kdtcn",
    target: TargetNames = None,
    until: Until = None,
    walk_forward: WalkForward = False,
    start: WalkForwardStart = None,
    every: WalkForwardEvery = 63,
    embedding: Embedding = None,
    seed: int = 0,
    seeds: Seeds = 3,
    enqueue: Enqueue = False,
) -> None:
    """Train model versions on stored data up to a cut; write their artifacts and record them."""
    import datetime as dt

    from app.db import transaction
    from app.services.model_versions import out_of_sample_line
    from app.services.training import train_and_register
    from app.services.walk_forward import enqueue_walk_forward, train_walk_forward
    from kg.graph import KnowledgeGraph
    from models.targets import TARGETS

    targets = _checked_targets(target, walk_forward, start, enqueue)
    rules = [TARGETS[name] for name in targets]  # resolved once: queued jobs store the names
    with opened() as (settings, factory, _):
        graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
        started = time.perf_counter()
        chain: dict[str, Any] = {
            "artifacts": settings.artifacts_dir,
            "graph": graph,
            "symbol": symbol,
            "start": dt.date.fromisoformat(start) if start else None,
            "every": every,
            "name": model,
            "seed": seed,
            "n_seeds": seeds,
            "embedding_version": embedding,
        }
        if enqueue:
            with progress_bar() as bar, transaction(factory) as session:
                bar.add_task(f"embedding for {symbol}", total=None)
                added, version = enqueue_walk_forward(session=session, targets=targets, **chain)
            console.print(
                f"queued {added} versions of {symbol} (embedding {version}); `kdtcn serve` or "
                "`kdtcn worker` processes train them, newest cut first (GET /readyz)"
            )
            return
        with progress_bar() as bar, transaction(factory) as session:
            bar.add_task(f"training {model} {', '.join(targets)}", total=None)
            if walk_forward:
                rows = train_walk_forward(session=session, rules=rules, say=console.print, **chain)
            else:
                rows = [
                    train_and_register(
                        session=session,
                        artifacts=settings.artifacts_dir,
                        graph=graph,
                        symbol=symbol,
                        rule=rule,
                        name=model,
                        until=dt.date.fromisoformat(until) if until else None,
                        embedding_version=embedding,
                        seed=seed,
                        n_seeds=seeds,
                    )
                    for rule in rules
                ]
    for row in rows:
        console.print(
            f"{row.version}: fitted on labels up to {row.train_end}; "
            + out_of_sample_line(row.metrics)
        )
    console.print(f"{len(rows)} versions in {time.perf_counter() - started:.0f} s")


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

    from app.services.backtest import run_backtest
    from app.services.registry import ModelRegistry
    from kg.graph import KnowledgeGraph
    from models.targets import TARGETS

    with opened() as (settings, factory, _):
        graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
        registry = ModelRegistry(settings.artifacts_dir, graph)
        for name in target or list(TARGETS):
            if name not in TARGETS:
                raise typer.BadParameter(f"expected one of {list(TARGETS)}", param_hint="--target")
            started = time.perf_counter()
            with factory() as session:
                result = run_backtest(
                    session=session,
                    registry=registry,
                    symbol=symbol,
                    start=dt.date.fromisoformat(start),
                    end=dt.date.fromisoformat(end),
                    rule=TARGETS[name],
                    cost_bps=cost_bps,
                    allow_in_sample=allow_in_sample,
                )
            console.print(
                f"[bold]{symbol} {name}[/bold] {result['start']}..{result['end']}: "
                f"{result['n_days']} days, {len(result['versions'])} versions, "
                f"{result['in_sample_days']} in sample ({time.perf_counter() - started:.1f} s)"
            )
            _print_backtest(result, cost_bps)


SCORES = ("mcc", "balanced_accuracy", "hit_rate", "auc", "brier", "share_up")


def _print_backtest(result: dict[str, Any], cost_bps: float) -> None:
    """A backtest's skill beside its reference rules, price errors (next_close) and the
    returns of trading its calls, as tables."""
    from rich.table import Table

    table = Table("calls", "MCC", "bal. acc.", "hit rate", "AUC", "Brier", "share positive")
    for label, row in result["classification"].items():
        table.add_row(label, *("-" if row.get(k) is None else f"{row[k]:.3f}" for k in SCORES))
    console.print(table)
    if result["regression"]:
        r = result["regression"]
        console.print(
            f"predicted close: RMSE {r['rmse']:.2f}, MAE {r['mae']:.2f}, MAPE "
            f"{r['mape']:.2f}%, Theil's U {r['theil_u']:.3f} (< 1 beats the random walk), "
            f"direction {r['direction_accuracy']:.3f}, 80% interval held the close on "
            f"{r['interval_coverage']:.0%} of days"
        )
    if not result["strategy"]:
        console.print(result["note"])
        return
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


def train_universe(
    universe: Annotated[
        str, typer.Option(help="A stored universe (`stocknet`), or `all`: every symbol with news")
    ] = "stocknet",
    until: Annotated[
        str | None, typer.Option(help="Cut: the last target day fitted (default: newest bar)")
    ] = None,
    walk_forward: WalkForward = False,
    start: WalkForwardStart = None,
    every: WalkForwardEvery = 63,
    kg_epochs: Annotated[int, typer.Option(help="Epochs of the TransE embedding")] = 25,
    seeds: Annotated[
        int, typer.Option(help="Networks of the version (seeds 0..K-1), P averaged")
    ] = 3,
    enqueue: Enqueue = False,
) -> None:
    """Train one KDTCN across a universe's stocks (with related stocks' events) up to a cut,
    save and record it; `GET /v1/predictions?universe=...&date=D` serves it for D >= the cut.
    With --walk-forward, one version per cut (cuts already recorded are kept, not retrained;
    each version is recorded as it finishes); with --enqueue too, the cuts are queued as
    training jobs that `kdtcn serve` and `kdtcn worker` processes train, newest first, the
    same versions."""
    import datetime as dt

    from app.db import transaction
    from app.domain import NotFound
    from app.services.jobs import enqueue as enqueue_jobs
    from app.services.universe import TARGET, UNIVERSE_MODEL, recorded_cuts, universe_cuts
    from app.services.universe import train_universe as train
    from kg.graph import KnowledgeGraph
    from kg.link import EntityLinker

    if walk_forward and start is None:
        raise typer.BadParameter("--walk-forward needs --start", param_hint="--start")
    if enqueue and not walk_forward:
        raise typer.BadParameter(
            "--enqueue queues a chain: add --walk-forward", param_hint="--enqueue"
        )
    with opened() as (settings, factory, _):
        try:
            with factory() as session:
                if walk_forward:
                    assert start is not None
                    cuts: list[dt.date | None] = list(
                        universe_cuts(
                            session,
                            universe=universe,
                            start=dt.date.fromisoformat(start),
                            every=every,
                        )
                    )
                    done = recorded_cuts(session, universe)
                    kept = [c for c in cuts if c in done]
                    if kept:
                        console.print(f"kept {len(kept)} recorded cuts")
                    cuts = [c for c in cuts if c not in done]
                else:
                    cuts = [dt.date.fromisoformat(until) if until else None]
            if enqueue:
                with transaction(factory) as session:
                    added = enqueue_jobs(
                        session,
                        symbol=universe,
                        target=TARGET,
                        cuts=[(cut, None) for cut in cuts if cut is not None],
                        embedding_version=None,  # each version builds its own (to its cut)
                        name=UNIVERSE_MODEL,
                        n_seeds=seeds,
                        train={"kg_epochs": kg_epochs},
                    )
                console.print(
                    f"queued {added} versions of universe {universe}; `kdtcn serve` or `kdtcn "
                    "worker` processes train them, newest cut first (GET /readyz)"
                )
                return
            graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
            linker = EntityLinker(graph)
            for cut in cuts:
                started = time.perf_counter()
                with transaction(factory) as session:
                    row = train(
                        session,
                        universe=universe,
                        until=cut,
                        graph=graph,
                        linker=linker,
                        artifacts=settings.artifacts_dir,
                        reference=settings.company_reference,
                        epochs=kg_epochs,
                        seeds=tuple(range(seeds)),
                        say=console.print,
                    )
                    version = row.version
                console.print(f"recorded {version} in {time.perf_counter() - started:.0f} s")
        except (NotFound, ValueError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--universe") from None
