"""`kdtcn evaluate` (the research harness, evaluation/) and `kdtcn protocol freeze|check`:
the frozen evaluation protocol (evaluation.protocol) and its one confirmation
(`kdtcn evaluate --confirm`, evaluation.confirm)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import console, opened, progress_bar
from app.settings import PROJECT_ROOT, get_settings
from evaluation.protocol import TUNE_TRIALS

__all__ = ["ablate_knowledge", "confirm_protocol", "evaluate", "protocol_cli"]

protocol_cli = typer.Typer(help="The frozen evaluation protocol.", no_args_is_help=True)


def _frozen_protocol(option: str) -> tuple[dict[str, Any], str]:
    """(the frozen protocol, its hash), refused (naming `option`) when the file is altered or
    the code no longer runs it."""
    from evaluation.protocol import ProtocolError, current_protocol, differences, load_protocol

    try:
        protocol, digest = load_protocol()
    except ProtocolError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc
    drift = differences(protocol, current_protocol())
    if drift:
        raise typer.BadParameter(
            "the code no longer runs the frozen protocol (changed: "
            + ", ".join(drift[:8])
            + "); freeze it anew (`kdtcn protocol freeze`) and confirm on a new period",
            param_hint=option,
        )
    return protocol, digest


def confirm_protocol(out: Path, symbols: list[str] | None, again: bool) -> None:
    """`kdtcn evaluate --confirm`: the frozen protocol on its confirmation period."""
    import dataclasses
    import json

    from evaluation.confirm import Plan, run_confirmation
    from evaluation.confirm_report import confirmation_markdown

    protocol, digest = _frozen_protocol("--confirm")
    target = out / "confirmation.json"
    if target.exists() and not again:
        done = json.loads(target.read_text()).get("protocol_sha256")
        if done == digest:
            raise typer.BadParameter(
                f"{target} already confirms protocol {digest[:12]}: a protocol is confirmed "
                "once (--again writes anyway, e.g. into another --out to compare runs)",
                param_hint="--confirm",
            )
    plan = Plan.of(protocol)
    if symbols:
        plan = dataclasses.replace(plan, symbols=tuple(symbols))
    settings = get_settings()
    console.print(
        f"confirming protocol {digest[:12]} on {', '.join(plan.symbols)}: train to "
        f"{plan.train_end}, test {plan.test_start}..{plan.test_end}"
    )
    run = run_confirmation(
        protocol=protocol, digest=digest, data_dir=settings.data_dir, plan=plan, say=console.print
    )
    out.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(run, indent=1))
    (out / "confirmation.md").write_text(confirmation_markdown(run))
    console.print(f"wrote {out / 'confirmation.md'} in {run['seconds'] / 60:.1f} min")


def ablate_knowledge(out: Path, symbol: str) -> None:
    """`kdtcn evaluate --ablation knowledge`: KDTCN with and without the WD40k facts under
    the frozen protocol, on the stored data of `symbol` (evaluation.ablation)."""
    import datetime as dt
    import json

    from app.services.evaluation import evaluation_inputs, input_digests
    from evaluation.ablation import knowledge_markdown, run_knowledge_ablation
    from kg.graph import KnowledgeGraph

    protocol, digest = _frozen_protocol("--ablation")
    train_end = dt.date.fromisoformat(protocol["development"]["train_end"])
    with opened() as (settings, factory, _):
        graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
        with factory() as session:
            prices, inputs = evaluation_inputs(
                session=session,
                symbol=symbol,
                graph=graph,
                artifacts=settings.artifacts_dir,
                train_end=train_end,
                say=console.print,
                text=False,
            )
    if len(prices) == 0:
        raise typer.BadParameter(f"no stored bars of {symbol}", param_hint="--symbol")
    with progress_bar() as bar:
        task = bar.add_task("model runs", total=3 * 2 * len(protocol["harness"]["seeds"]))
        try:
            result = run_knowledge_ablation(
                prices,
                inputs,
                protocol=protocol,
                digest=digest,
                progress=lambda label: bar.update(task, advance=1, description=label),
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--ablation") from None
    result["protocol"]["symbol"] = symbol
    result["protocol"]["input_digests"] = input_digests(prices, inputs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "knowledge.json").write_text(json.dumps(result, indent=1))
    (out / "knowledge.md").write_text(knowledge_markdown(result))
    console.print(f"wrote {out / 'knowledge.md'} in {result['protocol']['seconds'] / 60:.1f} min")


@protocol_cli.command("freeze")
def protocol_freeze() -> None:
    """Write the protocol the code runs now, with its hash, to evaluation/protocol.json."""
    from evaluation.protocol import PROTOCOL_PATH, freeze

    digest, changed = freeze()
    console.print(f"froze {PROTOCOL_PATH} sha256 {digest}")
    if changed:
        console.print("changed since the last freeze: " + ", ".join(changed))
        console.print("a new protocol needs a new confirmation period (kdtcn evaluate --confirm)")


@protocol_cli.command("check")
def protocol_check() -> None:
    """Say whether the code still runs the frozen protocol; exit 1 if not."""
    from evaluation.protocol import ProtocolError, current_protocol, differences, load_protocol

    try:
        protocol, digest = load_protocol()
    except ProtocolError as exc:
        console.print(str(exc))
        raise typer.Exit(1) from exc
    drift = differences(protocol, current_protocol())
    if drift:
        console.print(f"the code departs from protocol {digest[:12]} in: " + ", ".join(drift))
        raise typer.Exit(1)
    console.print(f"the code runs the frozen protocol {protocol['name']} sha256 {digest}")


def evaluate_stocknet(
    out: Path,
    universe: str | None,
    dates: dict[str, str | None],
    seed: int,
    *,
    networks: bool = True,
    quick: bool = False,
) -> None:
    """`kdtcn evaluate --dataset stocknet`: the universe's protocols, baselines and (with
    `networks`) network rows; `quick`: one seed and a 3-epoch embedding."""
    import datetime as dt
    import json

    from app.services.stocknet_eval import load_stocks, universe_knowledge, universe_symbols
    from evaluation.stocknet import Splits, run_protocols
    from evaluation.stocknet_report import stocknet_markdown
    from evaluation.stocknet_stats import BOOTSTRAP

    splits = Splits(
        **{k: dt.date.fromisoformat(v) for k, v in dates.items() if v is not None}  # type: ignore[arg-type]
    )
    neural = None
    with opened() as (settings, factory, _), factory() as session:
        try:
            symbols = universe_symbols(session, universe)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--universe") from None
        if not symbols:
            raise typer.BadParameter(
                "no stock with bars and news of its own", param_hint="--universe"
            )
        stocks = load_stocks(session, symbols)
        console.print(
            f"{len(stocks)} stocks; {sum(len(s.news_texts) for s in stocks)} stock-news pairs"
        )
        if networks:
            from kg.graph import KnowledgeGraph
            from kg.link import EntityLinker

            graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
            neural = universe_knowledge(
                session,
                stocks,
                graph=graph,
                linker=EntityLinker(graph),
                artifacts=settings.artifacts_dir,
                reference=settings.data_dir / "reference" / "sp500_constituents.csv",
                train_end=splits.train_end,
                universe=universe,
                epochs=3 if quick else 25,
                say=console.print,
            )
            if quick:
                neural.seeds = (0,)
    try:
        protocols = run_protocols(stocks, splits, neural=neural, seed=seed, say=console.print)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    result = {
        "header": {
            "universe": universe or "every symbol with news of its own",
            "command": "kdtcn evaluate --dataset stocknet",
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "n_stocks": len(stocks),
            "symbols": symbols,
            "splits": {k: str(v) for k, v in vars(splits).items()},
            "bootstrap": BOOTSTRAP,
            "seed": seed,
            "network_seeds": list(neural.seeds) if neural else [],
            "quick": quick,
        },
        "protocols": protocols,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1))
    (out / "results.md").write_text(stocknet_markdown(result))
    for name, block in protocols.items():
        if block.get("skipped"):
            console.print(f"{name}: skipped ({block['skipped']})")
            continue
        best = max(block["models"].items(), key=lambda kv: kv[1]["mcc"])
        console.print(
            f"{name}: n={block['n']}, always up {block['always_up']:.4f}; best MCC "
            f"{best[0]} {best[1]['mcc']:+.4f}"
        )
    console.print(f"wrote {out / 'results.md'} and results.json")


def evaluate(
    dataset: Annotated[
        str, typer.Option(help="djia-reddit (the demo) or stocknet (a universe of stocks)")
    ] = "djia-reddit",
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
    universe: Annotated[
        str | None,
        typer.Option(
            help="stocknet: the universe's stocks (default `stocknet`; `all` for every symbol "
            "with bars and news of its own)"
        ),
    ] = "stocknet",
    start: Annotated[str | None, typer.Option(help="stocknet: first training day")] = None,
    train_end: Annotated[
        str | None, typer.Option(help="stocknet: end of training (exclusive; 2015-08-01)")
    ] = None,
    dev_end: Annotated[
        str | None, typer.Option(help="stocknet: end of development (exclusive; 2015-10-01)")
    ] = None,
    test_end: Annotated[
        str | None, typer.Option(help="stocknet: end of test (exclusive; 2016-01-01)")
    ] = None,
    networks: Annotated[
        bool, typer.Option(help="stocknet: also fit the network rows (TCN, KDTCN, ...)")
    ] = True,
    ablation: Annotated[
        str | None,
        typer.Option(
            help="knowledge: KDTCN with and without the WD40k facts under the frozen "
            "protocol, with paired intervals (default --out: docs/ablation)"
        ),
    ] = None,
) -> None:
    """Every model, every target, three schemes, on the same days; writes Markdown + JSON.

    On PostgreSQL the Optuna studies live in the service's database (several machines can
    add trials to one study); otherwise in memory."""
    if confirm:
        confirm_protocol(out or PROJECT_ROOT / "docs" / "confirmation", confirm_symbols, again)
        return
    if ablation is not None:
        if ablation != "knowledge":
            raise typer.BadParameter("the one ablation is `knowledge`", param_hint="--ablation")
        ablate_knowledge(out or Path("docs") / "ablation", symbol)
        return
    import json

    from app.services.evaluation import evaluate_dataset
    from evaluation.folds import EvalConfig
    from evaluation.report import to_markdown
    from evaluation.runs import neural_runs
    from kg.graph import KnowledgeGraph

    if dataset == "stocknet":
        dates = {"start": start, "train_end": train_end, "dev_end": dev_end, "test_end": test_end}
        chosen = None if universe == "all" else universe
        evaluate_stocknet(
            out or Path("docs") / "stocknet", chosen, dates, seed=0, networks=networks, quick=quick
        )
        return
    out = out or Path("docs")
    if dataset != "djia-reddit":
        raise typer.BadParameter("djia-reddit or stocknet", param_hint="--dataset")
    with opened() as (settings, factory, _):
        storage = settings.database_url
        config = EvalConfig(
            tune_trials=tune_trials,
            tune_storage=storage if storage.startswith("postgresql") else None,
        )
        if quick:
            config = EvalConfig(
                seeds=(0,),
                schemes=("fixed_origin",),
                models=("TCN", "KDTCN", "LSTM", "EB-TCN"),
                tune_trials=0,
                select_variant=False,
                regression=False,
            )
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
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1))
    (out / "results.md").write_text(to_markdown(result))
    if result.get("regression"):
        from evaluation.regression_report import plot_regression

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
