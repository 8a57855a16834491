"""`next_close` in the evaluation: every model regresses the next day's close on the test days
of the harness and is scored against the random walk.

Protocol (all of it chronological, the folds of evaluation.folds):
* the days: `first_day = window + 1`, training days up to `train_end`, test days
  `test_start`..`test_end` (as run_evaluation); folds from `evaluation.folds.scheme_days`:
  the fixed origin (fit once) and rolling-origin recalibration (expanding, refit every
  `refit_every` test days);
* neural regressors: the networks of `models.zoo.NEURAL_MODELS` on the windows the
  harness cuts for next_day (price features and event rows normalised on the rows observable
  before the test block), one scalar output, MSE on the next-day log return standardised
  with the mean and std of the fold's training days; Adam and early stopping on the
  chronological validation tail, as models.train; each seed of `seeds` (fixed origin) or
  `rolling_seeds` (rolling origin); the seed ensemble is the mean predicted log return;
* "TCN (wavelet-denoised)": TCN on windows whose price part is wavelet-denoised window by
  window (models.windows.make_windows(denoise=True), causal);
* the tutorials' framing ("<net> (min-max level)"): the same networks read the last 60
  closes min-max scaled with a scaler fitted on the rows before the test block, and regress
  the scaled next close with MSE, as the seed tutorials do;
* baselines: the random walk (no change) and ARIMA(1,0,1) on log returns fitted on the
  fold's training days, parameters frozen, filtered through the data up to t-1;
* scores (models.regression): RMSE, MAE, MAPE of the close, Theil's U vs the random walk,
  direction accuracy of the implied move, Diebold-Mariano vs the random walk (squared
  error, HAC variance, HLN correction), lag correlations r0 / r1 of the predicted change.

Hyper-parameters (with `cfg.tune_trials`): TCN and KDTCN each get their own Optuna search
(`tune_next_close`: evaluation.tune.search on the last blocks of the training days, scored by
the mean validation Theil U), and the networks use it as the classifiers do theirs
(models.zoo.TUNED_FROM); the tutorial networks keep the defaults.

Fixed origin: every model. Rolling origin: `cfg.rolling_models` (TCN, KDTCN), ARIMA and the
random walk. All rows of a scheme score the same test days.

Here: the options and the run, step by step. The series and a row's scores are in
evaluation.regression_scores, the network fits on folds and the search in
evaluation.regression_fits, the Markdown section and the figure in
evaluation.regression_report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from evaluation.folds import EvalConfig, combined_inputs, scheme_days
from evaluation.regression_fits import (
    Plan,
    fold_windows,
    level_returns,
    network_returns,
    tune_next_close,
)
from evaluation.regression_report import RANDOM_WALK
from evaluation.regression_scores import RegressionData, regression_data
from evaluation.tune import Tuned, study_name
from models.metrics import json_safe
from models.regression import TUTORIAL_WINDOW, arima_returns, random_walk_returns
from models.targets import NEXT_CLOSE
from models.zoo import NEURAL_MODELS, TUNED_FROM, TUTORIAL_NETS, NeuralSpec

__all__ = [
    "RegressionOptions",
    "run_regression",
    "tune_next_close",
    "DENOISED",
]

DENOISED = " (wavelet-denoised)"
LEVEL = " (min-max level)"
ARIMA = "ARIMA(1,0,1)"
# the EvalConfig fields the result's protocol repeats
PROTOCOL_FIELDS = (
    "train_end",
    "test_start",
    "test_end",
    "window",
    "seeds",
    "rolling_seeds",
    "refit_every",
    "n_resamples",
    "rolling_models",
)


@dataclass(frozen=True)
class RegressionOptions:
    """What `run_regression` runs beyond the harness's EvalConfig."""

    schemes: tuple[str, ...] = ("fixed_origin", "rolling_origin")
    # fixed origin: these networks also in the tutorials' framing (min-max price level)
    level_models: tuple[str, ...] = TUTORIAL_NETS
    level_window: int = TUTORIAL_WINDOW
    # fixed origin: these networks also on wavelet-denoised windows
    denoised_models: tuple[str, ...] = ("TCN",)
    arima_order: tuple[int, int, int] = (1, 0, 1)
    # torch intra-op threads while fitting (restored after): these networks are small, and
    # on 2 shared cores one thread was ~7x faster per batch than two (spin-waiting threads)
    threads: int | None = 1


def _unpack(data: Any) -> tuple[pd.DataFrame, dict[str, np.ndarray | None]]:
    if isinstance(data, Mapping):
        return data["prices"], dict(data.get("inputs") or {})
    prices, inputs = data
    return prices, dict(inputs or {})


def run_regression(
    data: tuple[pd.DataFrame, Mapping[str, np.ndarray | None]] | Mapping[str, Any],
    cfg: EvalConfig | None = None,
    *,
    say: Callable[[str], None] = print,
    options: RegressionOptions | None = None,
    fixed_tuning: Mapping[str, Tuned] | None = None,
) -> dict[str, Any]:
    """Every model of the module docstring on next_close; a JSON-safe result dict.

    `data`: (prices, inputs) as app.services.evaluation.evaluation_inputs returns them (and
    run_evaluation takes them), or {"prices": ..., "inputs": ...}. prices: DataFrame indexed
    by trading date (ascending) with open, high, low, close, adj_close, volume; inputs: the
    per-trading-day rows by name ("kg_events", "events_nokg", "words", "sentences", "vader";
    "news" is not read), each (n_days, dim) beside the price rows. A model whose input is
    missing is skipped. `cfg`: the harness's EvalConfig (days, window, seeds, rolling
    models, refit_every, train). `fixed_tuning`: {tuned model: Tuned}, next_close's
    hyper-parameters without a search (a frozen protocol's), read when `cfg.tune_trials` is 0."""
    cfg = cfg or EvalConfig()
    opts = options or RegressionOptions()
    prices, inputs = _unpack(data)
    inputs = combined_inputs(inputs)
    threads = torch.get_num_threads()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    try:
        return _run(prices, inputs, cfg, opts, say, fixed_tuning or {})
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------
# The run, step by step


def _run(
    prices: pd.DataFrame,
    inputs: dict[str, np.ndarray | None],
    cfg: EvalConfig,
    opts: RegressionOptions,
    say: Callable[[str], None],
    fixed_tuning: Mapping[str, Tuned],
) -> dict[str, Any]:
    """run_regression's work: the days, the searches (or `fixed_tuning`), then every scheme
    of `opts.schemes` in turn; the result with the number of network fits and the run time."""
    started = time.perf_counter()
    data = regression_data(prices, cfg)
    result = _result_head(data, cfg, opts)
    tuned = _searched(data, inputs, cfg, say)
    if tuned:
        result["tuning"] = {NEXT_CLOSE.name: {k: v.to_dict() for k, v in tuned.items()}}
    elif not cfg.tune_trials:
        tuned = dict(fixed_tuning)
    fits = 0
    for scheme in opts.schemes:
        result["schemes"][scheme], n_fits = _run_scheme(scheme, data, inputs, cfg, opts, tuned, say)
        fits += n_fits
    result["protocol"]["n_fits"] = fits
    result["protocol"]["seconds"] = round(time.perf_counter() - started, 1)
    return json_safe(result)


def _result_head(data: RegressionData, cfg: EvalConfig, opts: RegressionOptions) -> dict[str, Any]:
    """The result before any fit: the protocol (the target, the settings of `cfg` in
    PROTOCOL_FIELDS, training settings, `opts`, the numbers of days), the test days' dates,
    close and previous close, and `schemes` still empty."""
    return {
        "protocol": {
            "target": NEXT_CLOSE.name,
            "description": NEXT_CLOSE.description,
            **{k: v for k, v in asdict(cfg).items() if k in PROTOCOL_FIELDS},
            "train": asdict(cfg.train),
            "options": asdict(opts),
            "n_train_days": int(len(data.train_days)),
            "n_test_days": int(len(data.test_days)),
        },
        "dates": [d.date().isoformat() for d in data.dates[data.test_days]],
        "close": data.close_true.tolist(),
        "close_prev": data.close_prev.tolist(),
        "schemes": {},
    }


def _searched(
    data: RegressionData,
    inputs: dict[str, np.ndarray | None],
    cfg: EvalConfig,
    say: Callable[[str], None],
) -> dict[str, Tuned]:
    """next_close's own searches (`tune_next_close` on the training days), one per model of
    `cfg.tune_models` whose input exists, in that order; none when `cfg.tune_trials` is 0."""
    tuned: dict[str, Tuned] = {}
    for name in cfg.tune_models if cfg.tune_trials else ():
        spec = NEURAL_MODELS[name]
        if spec.events is not None and inputs.get(spec.events) is None:
            continue
        event_rows = inputs.get(spec.events) if spec.events else None
        tuned[name] = tune_next_close(
            spec,
            data.price_rows,
            event_rows,
            data.close,
            data.train_days,
            window=cfg.window,
            train=cfg.train,
            n_trials=cfg.tune_trials,
            storage=cfg.tune_storage,
            study_name=study_name(
                NEXT_CLOSE.name, name, cfg, data.price_rows, event_rows, data.close
            ),
        )
        say(f"next_close tuned {name}: {tuned[name].n_trials} trials")
    return tuned


def _run_scheme(
    scheme: str,
    data: RegressionData,
    inputs: dict[str, np.ndarray | None],
    cfg: EvalConfig,
    opts: RegressionOptions,
    tuned: Mapping[str, Tuned],
    say: Callable[[str], None],
) -> tuple[dict[str, Any], int]:
    """One scheme: its folds (evaluation.folds.scheme_days), the baselines' rows, the
    networks' rows and, on the fixed origin, the min-max-level rows, each network with the
    seeds of the scheme; the scheme's entry of the result and its number of network fits."""
    plan = scheme_days(scheme, data.test_days, data.all_days, data.train_days, data.dates, cfg)
    fixed = scheme == "fixed_origin"
    seeds = cfg.seeds if fixed else cfg.rolling_seeds
    rows = _baseline_rows(data, plan, cfg, opts)
    networks, fits = _network_rows(scheme, data, inputs, plan, seeds, cfg, opts, tuned, say)
    rows.update(networks)
    if fixed:
        levels, level_fits = _level_rows(scheme, data, plan, seeds, cfg, opts, say)
        rows.update(levels)
        fits += level_fits
    return {
        "models": rows,
        "n_days": int(len(data.test_days)),
        "n_folds": len(plan),
        "fold_starts": [data.dates[int(b[0])].date().isoformat() for _, b in plan],
    }, fits


def _baseline_rows(
    data: RegressionData, plan: Plan, cfg: EvalConfig, opts: RegressionOptions
) -> dict[str, Any]:
    """The baselines' rows of a scheme: the random walk (no change), and ARIMA on log
    returns fitted on each fold's training days (parameters frozen, filtered up to t-1)."""
    rows: dict[str, Any] = {}
    rows[RANDOM_WALK] = data.score(
        "baseline", "log return", [random_walk_returns(data.test_days)], cfg.n_resamples
    )
    arima = np.concatenate(
        [arima_returns(data.values, fit, block, opts.arima_order) for fit, block in plan]
    )
    rows[ARIMA] = data.score("baseline", "log return", [arima], cfg.n_resamples)
    return rows


def _network_rows(
    scheme: str,
    data: RegressionData,
    inputs: dict[str, np.ndarray | None],
    plan: Plan,
    seeds: Sequence[int],
    cfg: EvalConfig,
    opts: RegressionOptions,
    tuned: Mapping[str, Tuned],
    say: Callable[[str], None],
) -> tuple[dict[str, Any], int]:
    """The networks' rows of a scheme (`_networks`), each on next_day's windows of every
    fold, with the hyper-parameters of the search it takes them from (models.zoo.TUNED_FROM)
    or the defaults; the rows by label and the number of network fits."""
    rows: dict[str, Any] = {}
    fits = 0
    for name, spec, denoise in _networks(scheme, inputs, cfg, opts):
        folds = [
            fold_windows(
                spec,
                data.price_rows,
                inputs.get(spec.events) if spec.events else None,
                data.up,
                data.values,
                fit,
                block,
                window=cfg.window,
                denoise=denoise,
            )
            for fit, block in plan
        ]
        source = tuned.get(TUNED_FROM.get(name, ""))
        runs, epochs = network_returns(
            spec,
            folds,
            seeds,
            config=source.train if source else cfg.train,
            net=source.net if source else None,
        )
        fits += len(seeds) * len(folds)
        label = name + (DENOISED if denoise else "")
        variant = "log return" + (", denoised" if denoise else "")
        rows[label] = _network_row(data, variant, runs, epochs, cfg.n_resamples)
        say(_fitted(scheme, label, len(seeds), rows[label]))
    return rows, fits


def _level_rows(
    scheme: str,
    data: RegressionData,
    plan: Plan,
    seeds: Sequence[int],
    cfg: EvalConfig,
    opts: RegressionOptions,
    say: Callable[[str], None],
) -> tuple[dict[str, Any], int]:
    """The tutorials' framing, "<net> (min-max level)" for each network of
    `opts.level_models` with the default hyper-parameters; the rows by label and the number
    of network fits."""
    rows: dict[str, Any] = {}
    fits = 0
    for name in opts.level_models:
        runs, epochs = level_returns(
            NEURAL_MODELS[name],
            data.close,
            plan,
            seeds,
            config=cfg.train,
            window=opts.level_window,
        )
        fits += len(seeds) * len(plan)
        rows[name + LEVEL] = _network_row(data, "min-max level", runs, epochs, cfg.n_resamples)
        say(_fitted(scheme, name + LEVEL, len(seeds), rows[name + LEVEL]))
    return rows, fits


def _networks(
    scheme: str,
    inputs: dict[str, np.ndarray | None],
    cfg: EvalConfig,
    opts: RegressionOptions,
) -> Iterator[tuple[str, NeuralSpec, bool]]:
    """The networks of a scheme as (name, spec, wavelet-denoised), in order: `cfg.models`
    (on a rolling scheme only those of `cfg.rolling_models`), then on the fixed origin
    `opts.denoised_models` on denoised windows. Skipped: a network whose input is missing,
    the classifiers' ablations (pre-training, attention, a denoising spec: the rows of
    `opts.denoised_models` are those), and KDTCN's variants equal to KDTCN (next_close's
    KDTCN is KDTCN itself, no variant chosen)."""
    fixed = scheme == "fixed_origin"
    names = [(n, False) for n in cfg.models if fixed or n in cfg.rolling_models]
    if fixed:
        names += [(n, True) for n in opts.denoised_models if n in NEURAL_MODELS]
    for name, denoise in names:
        spec = NEURAL_MODELS[name]
        if spec.events is not None and inputs.get(spec.events) is None:
            continue
        if spec.pretrain or spec.denoise or spec.event_slots:
            continue
        if name != "KDTCN" and spec.fit_key == NEURAL_MODELS["KDTCN"].fit_key:
            continue  # KDTCN's 1/rank-mean variant: KDTCN itself
        yield name, spec, denoise


def _network_row(
    data: RegressionData,
    variant: str,
    runs: Sequence[np.ndarray],
    epochs: list[int],
    n_resamples: int,
) -> dict[str, Any]:
    """A network's row: the scores of its per-seed runs, and the epochs each fit ran."""
    row = data.score("neural", variant, runs, n_resamples)
    row["epochs"] = epochs
    return row


def _fitted(scheme: str, label: str, n_seeds: int, row: dict[str, Any]) -> str:
    """The progress line of a network's row."""
    return f"next_close {scheme} {label}: {n_seeds} seeds, U {row['metrics']['theil_u']:.3f}"
