"""`kdtcn evaluate`: the research harness (evaluation/) on the demo (`--dataset djia-reddit`)
or on a universe of stocks (`--dataset stocknet`); `--confirm` and `--ablation` run the frozen
protocol (app.cli.protocol)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.cli.common import console, opened, progress_bar
from app.cli.protocol import ablate_knowledge, confirm_protocol
from app.settings import PROJECT_ROOT
from evaluation.protocol import TUNE_TRIALS

if TYPE_CHECKING:
    import numpy as np

__all__ = ["evaluate", "evaluate_demo", "evaluate_stocknet"]


def evaluate_stocknet(
    out: Path,
    universe: str | None,
    dates: dict[str, str | None],
    seed: int,
    *,
    networks: bool = True,
    quick: bool = False,
    embedding_seed: int = 0,
) -> None:
    """`kdtcn evaluate --dataset stocknet`: the universe's protocols, baselines and (with
    `networks`) network rows; `quick`: one seed, a 3-epoch embedding, no MiniLM row and none
    of the tutorials' networks."""
    import datetime as dt

    from app.services.stocknet_eval import load_stocks, universe_knowledge, universe_symbols
    from evaluation.stocknet import run_protocols
    from evaluation.stocknet_neural import NEURAL_ROWS, TUTORIAL_ROWS
    from evaluation.stocknet_samples import Splits
    from evaluation.stocknet_stats import BOOTSTRAP

    splits = Splits(
        **{k: dt.date.fromisoformat(v) for k, v in dates.items() if v is not None}  # type: ignore[arg-type]
    )
    neural = None
    rows = [r for r in NEURAL_ROWS if not (quick and r in TUTORIAL_ROWS)] if networks else []
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
                reference=settings.company_reference,
                train_end=splits.train_end,
                universe=universe,
                epochs=3 if quick else 25,
                seed=embedding_seed,
                say=console.print,
            )
            if quick:
                neural.seeds = (0,)
        sentences = None if quick else _sentences(settings.artifacts_dir)
    try:
        protocols = run_protocols(
            stocks,
            splits,
            neural=neural,
            seed=seed,
            say=console.print,
            sentences=sentences,
            network_rows=rows,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    header = {
        "universe": universe or "every symbol with news of its own",
        "command": "kdtcn evaluate --dataset stocknet",
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n_stocks": len(stocks),
        "symbols": symbols,
        "splits": {k: str(v) for k, v in vars(splits).items()},
        "bootstrap": BOOTSTRAP,
        "seed": seed,
        "network_seeds": list(neural.seeds) if neural else [],
        "network_rows": rows,
        "embedding_seed": embedding_seed,
        "quick": quick,
        "sentences": "all-MiniLM-L6-v2" if sentences else "not run (--quick)",
    }
    _write_stocknet(out, {"header": header, "protocols": protocols})


def _sentences(artifacts: Path) -> Callable[[Sequence[str]], np.ndarray]:
    """all-MiniLM-L6-v2 vectors of texts, through the disk cache under `artifacts` (a text
    encoded once is not encoded again by a later run); the count encoded is printed."""
    from models.text.sentences import SentenceEncoder

    encoder = SentenceEncoder()
    cache = artifacts / "cache" / "sentences"

    def encode(texts: Sequence[str]) -> np.ndarray:
        before = encoder.n_encoded
        vectors = encoder.encode_cached(texts, cache)
        if encoder.n_encoded > before:
            console.print(f"MiniLM: {encoder.n_encoded - before} texts encoded (the rest cached)")
        return vectors

    return encode


def _write_stocknet(out: Path, result: dict[str, Any]) -> None:
    """A StockNet run's results.json and results.md into `out`, and each protocol's line."""
    import json

    from evaluation.stocknet_report import stocknet_markdown

    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1))
    (out / "results.md").write_text(stocknet_markdown(result))
    for name, block in result["protocols"].items():
        if block.get("skipped"):
            console.print(f"{name}: skipped ({block['skipped']})")
            continue
        best = max(block["models"].items(), key=lambda kv: kv[1]["mcc"])
        console.print(
            f"{name}: n={block['n']}, always up {block['always_up']:.4f}; best MCC "
            f"{best[0]} {best[1]['mcc']:+.4f}"
        )
    console.print(f"wrote {out / 'results.md'} and results.json")


Dataset = Annotated[
    str, typer.Option(help="djia-reddit (the demo) or stocknet (a universe of stocks)")
]
Out = Annotated[
    Path | None,
    typer.Option(
        help="Folder for the report (default: docs; with --confirm, the project's "
        "docs/confirmation)"
    ),
]
Quick = Annotated[bool, typer.Option(help="1 seed, fixed origin, 4 models")]
TuneTrials = Annotated[
    int,
    typer.Option(
        help="Optuna trials per target for TCN and KDTCN on folds inside the training "
        "period (0: the hand-set defaults)"
    ),
]
WriteTuned = Annotated[
    bool,
    typer.Option(
        help="Also write the search's choices to models/tuned.json, the settings served "
        "versions use (never implied by --out)"
    ),
]
Confirm = Annotated[
    bool,
    typer.Option(
        help="Run the frozen protocol (evaluation/protocol.json) once on its confirmation "
        "period: price-only models on the bundled histories after the development data"
    ),
]
ConfirmSymbols = Annotated[
    list[str] | None,
    typer.Option(
        "--confirm-symbol",
        help="With --confirm: these symbols instead of the plan's (the report says so)",
    ),
]
Again = Annotated[
    bool, typer.Option(help="With --confirm: write even where this hash's report already is")
]
Universe = Annotated[
    str | None,
    typer.Option(
        help="stocknet: the universe's stocks (default `stocknet`; `all` for every symbol "
        "with bars and news of its own)"
    ),
]
Start = Annotated[str | None, typer.Option(help="stocknet: first training day")]
TrainEnd = Annotated[
    str | None, typer.Option(help="stocknet: end of training (exclusive; 2015-08-01)")
]
DevEnd = Annotated[
    str | None, typer.Option(help="stocknet: end of development (exclusive; 2015-10-01)")
]
TestEnd = Annotated[str | None, typer.Option(help="stocknet: end of test (exclusive; 2016-01-01)")]
Networks = Annotated[
    bool, typer.Option(help="stocknet: also fit the network rows (TCN, KDTCN, ...)")
]
EmbeddingSeed = Annotated[
    int,
    typer.Option(
        help="stocknet: the seed of the TransE embedding the KDTCN rows read (0; another seed "
        "measures how much those rows owe to one embedding)"
    ),
]
Ablation = Annotated[
    str | None,
    typer.Option(
        help="knowledge: KDTCN with and without the WD40k facts under the frozen "
        "protocol, with paired intervals (default --out: docs/ablation)"
    ),
]


def evaluate(
    dataset: Dataset = "djia-reddit",
    symbol: str = "DJIA",
    out: Out = None,
    quick: Quick = False,
    tune_trials: TuneTrials = TUNE_TRIALS,
    write_tuned: WriteTuned = False,
    confirm: Confirm = False,
    confirm_symbols: ConfirmSymbols = None,
    again: Again = False,
    universe: Universe = "stocknet",
    start: Start = None,
    train_end: TrainEnd = None,
    dev_end: DevEnd = None,
    test_end: TestEnd = None,
    networks: Networks = True,
    embedding_seed: EmbeddingSeed = 0,
    ablation: Ablation = None,
) -> None:
    """Every model, every target, three schemes, on the same days; writes Markdown + JSON.

    On PostgreSQL the Optuna studies live in the service's database (several machines can
    add trials to one study); otherwise in memory."""
    if confirm:
        confirm_protocol(out or PROJECT_ROOT / "docs" / "confirmation", confirm_symbols, again)
    elif ablation is not None:
        if ablation != "knowledge":
            raise typer.BadParameter("the one ablation is `knowledge`", param_hint="--ablation")
        ablate_knowledge(out or Path("docs") / "ablation", symbol)
    elif dataset == "stocknet":
        dates = {"start": start, "train_end": train_end, "dev_end": dev_end, "test_end": test_end}
        chosen = None if universe == "all" else universe
        evaluate_stocknet(
            out or Path("docs") / "stocknet",
            chosen,
            dates,
            seed=0,
            networks=networks,
            quick=quick,
            embedding_seed=embedding_seed,
        )
    elif dataset == "djia-reddit":
        evaluate_demo(out or Path("docs"), symbol, quick, tune_trials, write_tuned)
    else:
        raise typer.BadParameter("djia-reddit or stocknet", param_hint="--dataset")


def evaluate_demo(out: Path, symbol: str, quick: bool, tune_trials: int, write_tuned: bool) -> None:
    """`kdtcn evaluate --dataset djia-reddit`: every model and target of the harness on the
    stored data of `symbol` (with `quick`: 1 seed, fixed origin, 4 models, no search)."""
    import json

    from app.services.evaluation import evaluate_dataset
    from evaluation.folds import EvalConfig
    from evaluation.report import to_markdown
    from evaluation.runs import neural_runs
    from kg.graph import KnowledgeGraph

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
