"""Run the next_close regression (models.regression_eval) on the full real data.

    PYTHONPATH=. .venv/bin/python scripts/regression_eval.py [--out docs]
        [--inputs-cache var/regression_inputs.npz] [--inputs-only]

Inputs come exactly as `kdtcn evaluate` gets them (app.services.evaluation.evaluation_inputs:
prices from the database, event embeddings from var/artifacts, LSA, VADER, MiniLM through its
disk cache). They are saved to an .npz cache so that a second run skips that step (the cache
file only holds inputs derived from training-period fits; delete it to rebuild). Prints the
table and the wall time of the regression part, and writes docs/regression.md,
docs/regression.json and docs/regression.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def load_inputs(cache: Path, train_end: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        prices = pd.DataFrame(
            {k.removeprefix("price_"): data[k] for k in data.files if k.startswith("price_")},
            index=pd.DatetimeIndex(data["dates"].astype("datetime64[D]")),
        )
        inputs = {k.removeprefix("input_"): data[k] for k in data.files if k.startswith("input_")}
        return prices, inputs
    from app.bootstrap import open_database
    from app.services.evaluation import evaluation_inputs
    from app.settings import get_settings
    from kg.graph import KnowledgeGraph

    settings = get_settings()
    factory, engine = open_database(settings)
    graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
    with factory() as session:
        prices, inputs = evaluation_inputs(
            session=session,
            symbol="DJIA",
            graph=graph,
            artifacts=settings.artifacts_dir,
            train_end=dt.date.fromisoformat(train_end),
        )
    engine.dispose()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        dates=np.asarray(prices.index, dtype="datetime64[D]"),
        **{f"price_{c}": prices[c].to_numpy() for c in prices.columns},
        **{f"input_{k}": v for k, v in inputs.items() if v is not None},
    )
    return prices, inputs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--inputs-cache", type=Path, default=Path("var/regression_inputs.npz"))
    parser.add_argument("--inputs-only", action="store_true")
    parser.add_argument(
        "--render-only", action="store_true", help="re-render OUT/regression.{md,png} from its json"
    )
    args = parser.parse_args()
    if args.render_only:
        from models.regression_eval import plot_regression, render_regression

        result = json.loads((args.out / "regression.json").read_text())
        plot_regression(result, args.out / "regression.png")
        (args.out / "regression.md").write_text(render_regression(result))
        print(render_regression(result))
        return

    from models.evaluate import EvalConfig

    cfg = EvalConfig()
    started = time.perf_counter()
    prices, inputs = load_inputs(args.inputs_cache, cfg.train_end)
    print(f"inputs: {time.perf_counter() - started:.0f} s, {sorted(inputs)}", flush=True)
    if args.inputs_only:
        return
    from models.regression_eval import plot_regression, render_regression, run_regression

    started, cpu = time.perf_counter(), time.process_time()
    result = run_regression(
        {"prices": prices, "inputs": inputs},
        cfg,
        say=lambda s: print(f"[{time.perf_counter() - started:6.0f} s] {s}", flush=True),
    )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "regression.json").write_text(json.dumps(result, indent=1))
    plot_regression(result, args.out / "regression.png")
    text = render_regression(result)
    (args.out / "regression.md").write_text(text)
    print(text)
    print(
        f"run_regression wall time: {seconds:.0f} s ({seconds / 60:.1f} min); CPU time of "
        f"this process {cpu:.0f} s (one torch thread: about the wall time on an idle core)"
    )


if __name__ == "__main__":
    main()
