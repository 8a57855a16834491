"""The sealed confirmation: the frozen protocol (evaluation.protocol) run once on days that no
development choice read.

For each symbol of the protocol's plan: the bundled daily history from the plan's
`prices_from` to its `test_end`, training days up to `train_end`, test days from `test_start`;
every model of the plan that reads prices only (events and text do not exist after the
demo's news ends), on every classification target and on next_close, with the harness's
schemes, seeds, statistics and the frozen searched hyper-parameters (no new search, no
variant choice). `TCN (pre-trained)` pre-trains on the history before `prices_from`, as in
development. The plan's `compared` models are compared with each target's baselines by the
same paired bootstrap, Holm-adjusted over the symbol's run.

Symbols run side by side in worker processes (one torch thread each), the classifiers and
next_close's regression of a symbol as two jobs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import multiprocessing as mp
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.folds import EvalConfig
from evaluation.protocol import ProtocolError
from evaluation.tune import Tuned
from models.features import price_features
from models.fitting import PriceHistory
from models.networks import NetParams
from models.train import TrainConfig

__all__ = [
    "Plan",
    "confirmation_config",
    "fixed_tuning",
    "load_bars",
    "protocol_config",
    "run_confirmation",
]


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a confirmation run reads: symbols and days (the protocol's plan unless
    overridden, which the report then says)."""

    symbols: tuple[str, ...]
    prices_from: str
    train_end: str
    test_start: str
    test_end: str

    @classmethod
    def of(cls, protocol: dict[str, Any]) -> Plan:
        """The plan of a loaded protocol (its `confirmation` entry)."""
        c = protocol["confirmation"]
        return cls(
            tuple(c["symbols"]), c["prices_from"], c["train_end"], c["test_start"], c["test_end"]
        )


def confirmation_config(protocol: dict[str, Any], plan: Plan) -> EvalConfig:
    """The harness's configuration under the frozen protocol, on the plan's days: its
    settings, training defaults and statistics; the plan's price-only models; no search and
    no variant choice (the searched settings come from `fixed_tuning`)."""
    c = protocol["confirmation"]
    return protocol_config(
        protocol,
        train_end=plan.train_end,
        test_start=plan.test_start,
        test_end=plan.test_end,
        models=tuple(c["models"]),
        rolling_models=tuple(c["rolling_models"]),
        compared=tuple(c["compared"]),
    )


def protocol_config(
    protocol: dict[str, Any],
    *,
    train_end: str,
    test_start: str,
    test_end: str,
    models: tuple[str, ...],
    rolling_models: tuple[str, ...],
    compared: tuple[str, ...],
) -> EvalConfig:
    """The harness's configuration under the frozen protocol (its settings, training
    defaults and statistics) for `models` on the given days, with no search and no variant
    choice: the searched settings come from `fixed_tuning`."""
    harness = dict(protocol["harness"])
    fields = {f.name for f in dataclasses.fields(EvalConfig)}
    unknown = set(harness) - fields
    if unknown:
        raise ProtocolError(f"the protocol's harness names settings the code lacks: {unknown}")
    tuples: dict[str, Any] = {k: _tuple(v) for k, v in harness.items()}
    tuples.update(
        train_end=train_end,
        test_start=test_start,
        test_end=test_end,
        models=models,
        rolling_models=rolling_models,
        compared=compared,
        tune_trials=0,
        tune_storage=None,
        select_variant=False,
        train=TrainConfig(**protocol["train"]),
    )
    return EvalConfig(**tuples)


def _tuple(value: Any) -> Any:
    """JSON lists back to the tuples the dataclasses hold (nested: arima_order)."""
    return tuple(value) if isinstance(value, list) else value


def fixed_tuning(protocol: dict[str, Any]) -> dict[str, dict[str, Tuned]]:
    """{target: {tuned model: Tuned}} from the protocol's searched hyper-parameters."""
    base = TrainConfig(**protocol["train"])
    out: dict[str, dict[str, Tuned]] = {}
    for target, models in protocol["hyper_parameters"].items():
        out[target] = {}
        for name, entry in models.items():
            metric = entry.get("metric", "auc")
            out[target][name] = Tuned(
                net=NetParams(**entry["net"]),
                train=dataclasses.replace(base, lr=entry["lr"], weight_decay=entry["weight_decay"]),
                best=float(entry[f"validation_{metric}"]),
                default=float(entry[f"default_validation_{metric}"]),
                n_trials=int(entry["n_trials"]),
                seconds=0.0,
                folds=[],
                metric=metric,
            )
    return out


def load_bars(
    symbol: str, data_dir: Path, plan: Plan
) -> tuple[pd.DataFrame, PriceHistory, dict[str, Any]]:
    """The symbol's bars from `prices_from` to `test_end`, the history before them (for
    pre-training), and the file it came from with its sha256."""
    from models.history import history_path, load_history

    start = dt.date.fromisoformat(plan.prices_from)
    bars = load_history(symbol, data_dir, start=start, end=dt.date.fromisoformat(plan.test_end))
    before = load_history(symbol, data_dir, end=start - dt.timedelta(days=1))
    if len(bars) == 0 or len(before) == 0:
        raise ValueError(f"{symbol}: no bars in {plan.prices_from}..{plan.test_end} or before")
    history = PriceHistory(
        price_features(before).to_numpy(np.float32),
        before["adj_close"].to_numpy(float),
        str(before.index[0].date()),
        str(before.index[-1].date()),
    )
    path = history_path(symbol, data_dir)
    source = {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "first": str(bars.index[0].date()),
        "last": str(bars.index[-1].date()),
        "days": int(len(bars)),
        "dropped": bars.attrs.get("dropped", {}),
    }
    return bars, history, source


def _job(
    kind: str, symbol: str, data_dir: Path, protocol: dict[str, Any], plan: Plan
) -> tuple[str, str, dict[str, Any]]:
    """One worker job: a symbol's classifiers or its next_close regression."""
    import torch

    torch.set_num_threads(1)
    bars, history, source = load_bars(symbol, data_dir, plan)
    cfg = confirmation_config(protocol, plan)
    tuning = fixed_tuning(protocol)
    started = time.perf_counter()
    if kind == "classifiers":
        from evaluation.harness import run_evaluation

        out = run_evaluation(bars, {}, config=cfg, history=history, fixed_tuning=tuning)
        out["protocol"]["source"] = source
    else:
        from evaluation.regression import RegressionOptions, run_regression

        given: dict[str, Any] = {k: _tuple(v) for k, v in protocol["regression_options"].items()}
        out = run_regression(
            (bars, {}),
            cfg,
            say=lambda _line: None,
            options=RegressionOptions(**{**given, "threads": 1}),
            fixed_tuning=tuning.get("next_close", {}),
        )
    out["protocol"]["job_seconds"] = round(time.perf_counter() - started, 1)
    return kind, symbol, out


def _git_commit(root: Path) -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + (" (with uncommitted changes)" if dirty else "")


def run_confirmation(
    *,
    protocol: dict[str, Any],
    digest: str,
    data_dir: Path,
    plan: Plan | None = None,
    workers: int = 2,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the protocol's confirmation; a JSON-safe dict: per symbol the classifiers' result
    (evaluation.harness.run_evaluation's shape) and next_close's (run_regression's)."""
    frozen = Plan.of(protocol)
    plan = plan or frozen
    started = time.perf_counter()
    result: dict[str, Any] = {
        "protocol_sha256": digest,
        "protocol_name": protocol["name"],
        "plan": dataclasses.asdict(plan),
        "plan_is_frozen": plan == frozen,
        "code": _git_commit(Path(__file__).resolve().parents[1]),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "symbols": {s: {} for s in plan.symbols},
    }
    jobs = [(kind, s) for s in plan.symbols for kind in ("classifiers", "regression")]
    with ProcessPoolExecutor(max(1, workers), mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_job, kind, s, data_dir, protocol, plan) for kind, s in jobs]
        for future in futures:
            kind, symbol, out = future.result()
            result["symbols"][symbol][kind] = out
            say(f"{symbol} {kind}: done in {out['protocol']['job_seconds'] / 60:.1f} min")
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result
