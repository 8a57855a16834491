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
  window (models.inputs.make_windows(denoise=True), causal);
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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from evaluation.folds import EvalConfig, combined_inputs, scheme_days
from evaluation.tune import Tuned, inner_plan, search, study_name
from models.features import price_features
from models.fitting import fit_regressor, normalised_windows, standardised_targets
from models.inputs import Windows
from models.kinds import implied_close
from models.metrics import json_safe
from models.networks import NetParams, SequenceClassifier
from models.regression import (
    TUTORIAL_WINDOW,
    arima_returns,
    diebold_mariano,
    lag_correlations,
    minmax_windows,
    random_walk_returns,
    regression_scores,
    theil_u_interval,
)
from models.stats import seed_summary
from models.targets import NEXT_CLOSE
from models.train import TrainConfig, predict_outputs, seed_everything
from models.zoo import NEURAL_MODELS, TUNED_FROM, TUTORIAL_NETS, NeuralSpec

__all__ = [
    "RegressionOptions",
    "run_regression",
    "tune_next_close",
    "render_regression",
    "plot_regression",
    "DENOISED",
]

DENOISED = " (wavelet-denoised)"
LEVEL = " (min-max level)"
RANDOM_WALK = "Random walk"
ARIMA = "ARIMA(1,0,1)"
SCHEME_TITLES = {
    "fixed_origin": "Fixed origin",
    "rolling_origin": "Rolling-origin recalibration",
    "rolling_window": "Rolling window",
}


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


@dataclass
class _FoldData:
    """A fold's windows for one input set: training windows with standardised targets, the
    test block's windows (ordered by day), and how to undo the standardisation."""

    train: Windows
    test_x: np.ndarray
    mean: float
    std: float
    price_dim: int
    event_dim: int

    def predict(
        self,
        spec: NeuralSpec,
        *,
        config: TrainConfig,
        seed: int,
        net: NetParams | None = None,
        epochs: list[int] | None = None,
    ) -> np.ndarray:
        """Fit a fresh `spec` network on the training windows; the test block's predicted log
        returns (the standardisation undone)."""
        z = _fit_predict(
            spec.encoder,
            spec.highway,
            self.train,
            self.test_x,
            price_dim=self.price_dim,
            event_dim=self.event_dim,
            config=config,
            seed=seed,
            net=net,
            epochs=epochs,
        )
        return self.mean + self.std * z


def _fold_windows(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    up: np.ndarray,
    values: np.ndarray,
    fit_days: np.ndarray,
    block: np.ndarray,
    *,
    window: int,
    denoise: bool,
) -> _FoldData:
    """Normalise on the rows observable before the block (as evaluation.folds.fit_fold), cut
    next_day's windows (labels `up` only select which windows exist), attach the
    standardised log return of each window's day."""
    fit_rows = np.zeros(len(up), bool)
    fit_rows[1 : int(block[0])] = True
    pn, en, windows = normalised_windows(
        spec,
        price_rows,
        event_rows,
        up,
        fit_rows,
        window=window,
        target=NEXT_CLOSE.name,
        denoise=denoise,
    )
    train, mean, std = standardised_targets(windows, values, fit_days)
    test = windows.subset(np.isin(windows.day, block))
    order = np.argsort(test.day)
    if not np.array_equal(test.day[order], np.sort(block)):
        raise AssertionError("test days misaligned")
    return _FoldData(
        train,
        test.x[order],
        mean,
        std,
        len(pn.mean) if pn else 0,
        len(en.mean) if en else 0,
    )


def _fit_predict(
    encoder: str,
    highway: int,
    train: Windows,
    test_x: np.ndarray,
    *,
    price_dim: int,
    event_dim: int,
    config: TrainConfig,
    seed: int,
    net: NetParams | None = None,
    epochs: list[int] | None = None,
) -> np.ndarray:
    """Fit a fresh network on `train`, predict `test_x`; appends the epochs run to `epochs`."""
    seed_everything(seed)  # the initial weights, too, come from the seed
    model = SequenceClassifier(
        encoder=encoder, price_dim=price_dim, event_dim=event_dim, params=net, highway=highway
    )
    model, history = fit_regressor(model, train, config=config, seed=seed)
    if epochs is not None:
        epochs.append(len(history.val_loss))
    return predict_outputs(model, test_x).astype(np.float64)


def tune_next_close(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    close: np.ndarray,
    train_days: np.ndarray,
    *,
    window: int,
    train: TrainConfig,
    n_trials: int,
    n_folds: int = 2,
    fold_days: int = 126,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
) -> Tuned:
    """evaluation.tune.search for a next_close regressor: the configuration with the lowest mean
    Theil U (against the random walk) on the last `n_folds` blocks of `fold_days` training
    days, each fitted on the training days before it (one seed). Reads no day after
    `train_days`."""
    values, up = NEXT_CLOSE.values(close), NEXT_CLOSE.labels(close)
    plan = inner_plan(train_days, n_folds=n_folds, fold_days=fold_days)
    folds = [
        _fold_windows(
            spec, price_rows, event_rows, up, values, fit, block, window=window, denoise=False
        )
        for fit, block in plan
    ]

    def score(net: NetParams, config: TrainConfig) -> float:
        us = []
        for (_, block), fold in zip(plan, folds, strict=True):
            returns = fold.predict(spec, config=config, seed=seed, net=net)
            pred = implied_close(close[block - 1], returns)
            us.append(regression_scores(close[block - 1], close[block], pred)["theil_u"])
        return float(np.mean(us))

    return search(
        score,
        metric="theil_u",
        train=train,
        n_trials=n_trials,
        seed=seed,
        storage=storage,
        study_name=study_name,
        folds=[
            {
                "fit_days": int(len(fit)),
                "first_validation_day": int(block[0]),
                "validation_days": int(len(block)),
            }
            for fit, block in plan
        ],
    )


# ---------------------------------------------------------------------------------------
# Scoring


def _score(
    kind: str,
    variant: str,
    per_seed_returns: Sequence[np.ndarray],
    close_prev: np.ndarray,
    close_true: np.ndarray,
    realised_change: np.ndarray,
    n_resamples: int = 2000,
) -> dict[str, Any]:
    """A row: scores of the seed ensemble (mean predicted log return), per-seed spread of
    U / RMSE / direction accuracy, DM vs the random walk, lag correlations."""
    ensemble = np.mean(np.stack(per_seed_returns), axis=0)
    pred = implied_close(close_prev, ensemble)
    seeds = [
        regression_scores(close_prev, close_true, implied_close(close_prev, r))
        for r in per_seed_returns
    ]
    stat, p = diebold_mariano(close_true - pred, close_true - close_prev, h=1)
    ci = theil_u_interval(close_prev, close_true, pred, n_resamples=n_resamples)
    return {
        "kind": kind,
        "variant": variant,
        "n_seeds": len(per_seed_returns),
        "metrics": regression_scores(close_prev, close_true, pred),
        "per_seed": {
            k: seed_summary([s[k] for s in seeds])
            for k in ("theil_u", "rmse", "direction_accuracy")
        },
        "dm": {"stat": stat, "p_value": p},
        # U - 1 with a paired moving-block bootstrap interval (as the harness's comparisons)
        "u_interval": ci,
        # the lag: the predicted line's day-to-day change against the realised change of the
        # same day (r0) and of the day before (r1); the random walk has r0 ~ 0, r1 = 1
        "lag": lag_correlations(np.diff(pred), np.diff(close_true)),
        # skill: the implied move (predicted close - previous close) against the realised move
        # of the same day (NaN for the random walk, which predicts no move)
        "move_corr": lag_correlations(pred - close_prev, realised_change)["same_day"],
        "pred_close": pred.tolist(),
    }


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


def _run(
    prices: pd.DataFrame,
    inputs: dict[str, np.ndarray | None],
    cfg: EvalConfig,
    opts: RegressionOptions,
    say: Callable[[str], None],
    fixed_tuning: Mapping[str, Tuned],
) -> dict[str, Any]:
    started = time.perf_counter()
    dates = pd.DatetimeIndex(prices.index)
    price_rows = price_features(prices).to_numpy(np.float32)
    close = prices["adj_close"].to_numpy(float)
    values = NEXT_CLOSE.values(close)
    up = NEXT_CLOSE.labels(close)
    first_day = cfg.window + 1
    all_days = np.arange(first_day, len(prices))
    train_days = all_days[dates[all_days] <= pd.Timestamp(cfg.train_end)]
    test_days = all_days[
        (dates[all_days] >= pd.Timestamp(cfg.test_start))
        & (dates[all_days] <= pd.Timestamp(cfg.test_end))
    ]
    if len(test_days) < 3 or len(train_days) < 3:
        raise ValueError("run_regression needs training and test days")
    close_prev, close_true = close[test_days - 1], close[test_days]
    realised = close_true - close_prev
    result: dict[str, Any] = {
        "protocol": {
            "target": NEXT_CLOSE.name,
            "description": NEXT_CLOSE.description,
            **{
                k: v
                for k, v in asdict(cfg).items()
                if k
                in (
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
            },
            "train": asdict(cfg.train),
            "options": asdict(opts),
            "n_train_days": int(len(train_days)),
            "n_test_days": int(len(test_days)),
        },
        "dates": [d.date().isoformat() for d in dates[test_days]],
        "close": close_true.tolist(),
        "close_prev": close_prev.tolist(),
        "schemes": {},
    }
    tuned: dict[str, Tuned] = {}
    for name in cfg.tune_models if cfg.tune_trials else ():
        spec = NEURAL_MODELS[name]
        if spec.events is not None and inputs.get(spec.events) is None:
            continue
        tuned[name] = tune_next_close(
            spec,
            price_rows,
            inputs.get(spec.events) if spec.events else None,
            close,
            train_days,
            window=cfg.window,
            train=cfg.train,
            n_trials=cfg.tune_trials,
            storage=cfg.tune_storage,
            study_name=study_name(
                NEXT_CLOSE.name,
                name,
                cfg,
                price_rows,
                inputs.get(spec.events) if spec.events else None,
                close,
            ),
        )
        say(f"next_close tuned {name}: {tuned[name].n_trials} trials")
    if tuned:
        result["tuning"] = {NEXT_CLOSE.name: {k: v.to_dict() for k, v in tuned.items()}}
    elif not cfg.tune_trials:
        tuned = dict(fixed_tuning)
    fits = 0
    for scheme in opts.schemes:
        plan = scheme_days(scheme, test_days, all_days, train_days, dates, cfg)
        rows: dict[str, Any] = {}

        def add(
            name: str, kind: str, variant: str, runs: list[np.ndarray], rows: dict = rows
        ) -> None:
            rows[name] = _score(
                kind, variant, runs, close_prev, close_true, realised, cfg.n_resamples
            )

        add(RANDOM_WALK, "baseline", "log return", [random_walk_returns(test_days)])
        add(
            ARIMA,
            "baseline",
            "log return",
            [
                np.concatenate(
                    [arima_returns(values, fit, block, opts.arima_order) for fit, block in plan]
                )
            ],
        )
        fixed = scheme == "fixed_origin"
        seeds = cfg.seeds if fixed else cfg.rolling_seeds
        names = [(n, False) for n in cfg.models if fixed or n in cfg.rolling_models]
        if fixed:
            names += [(n, True) for n in opts.denoised_models if n in NEURAL_MODELS]
        for name, denoise in names:
            spec = NEURAL_MODELS[name]
            if spec.events is not None and inputs.get(spec.events) is None:
                continue
            if spec.pretrain or spec.denoise or spec.event_slots:  # pre-training and
                continue  # attention: the classifiers' ablations; denoising: the rows of
                # `opts.denoised_models`
            if name != "KDTCN" and spec == NEURAL_MODELS["KDTCN"]:
                continue  # KDTCN (1/rank mean): next_close's KDTCN itself (no variant chosen)
            event_rows = inputs.get(spec.events) if spec.events else None
            folds = [
                _fold_windows(
                    spec,
                    price_rows,
                    event_rows,
                    up,
                    values,
                    fit,
                    block,
                    window=cfg.window,
                    denoise=denoise,
                )
                for fit, block in plan
            ]
            source = tuned.get(TUNED_FROM.get(name, ""))
            runs: list[np.ndarray] = []
            epochs: list[int] = []
            for seed in seeds:
                parts = []
                for fold in folds:
                    parts.append(
                        fold.predict(
                            spec,
                            config=source.train if source else cfg.train,
                            seed=seed,
                            net=source.net if source else None,
                            epochs=epochs,
                        )
                    )
                    fits += 1
                runs.append(np.concatenate(parts))
            label = name + (DENOISED if denoise else "")
            add(label, "neural", "log return" + (", denoised" if denoise else ""), runs)
            rows[label]["epochs"] = epochs
            say(
                f"next_close {scheme} {label}: {len(seeds)} seeds, "
                f"U {rows[label]['metrics']['theil_u']:.3f}"
            )
        if fixed:
            for name in opts.level_models:
                spec = NEURAL_MODELS[name]
                runs, epochs = [], []
                for seed in seeds:
                    parts = []
                    for fit, block in plan:
                        fit_rows = np.zeros(len(close), bool)
                        fit_rows[1 : int(block[0])] = True
                        train = minmax_windows(close, fit_rows, fit, window=opts.level_window)
                        test = minmax_windows(close, fit_rows, block, window=opts.level_window)
                        if not np.array_equal(test.day, block):
                            raise AssertionError("level windows misaligned")
                        scaled = _fit_predict(
                            spec.encoder,
                            0,
                            Windows(train.x, train.y.astype(np.float32), train.day - 1),
                            test.x,
                            price_dim=1,
                            event_dim=0,
                            config=cfg.train,
                            seed=seed,
                            epochs=epochs,
                        )
                        parts.append(np.log(test.inverse(scaled) / close[block - 1]))
                        fits += 1
                    runs.append(np.concatenate(parts))
                add(name + LEVEL, "neural", "min-max level", runs)
                rows[name + LEVEL]["epochs"] = epochs
                say(
                    f"next_close {scheme} {name + LEVEL}: {len(seeds)} seeds, "
                    f"U {rows[name + LEVEL]['metrics']['theil_u']:.3f}"
                )
        result["schemes"][scheme] = {
            "models": rows,
            "n_days": int(len(test_days)),
            "n_folds": len(plan),
            "fold_starts": [dates[int(b[0])].date().isoformat() for _, b in plan],
        }
    result["protocol"]["n_fits"] = fits
    result["protocol"]["seconds"] = round(time.perf_counter() - started, 1)
    return json_safe(result)


# ---------------------------------------------------------------------------------------
# Report and figure


def _f(value: float | None, fmt: str = ".3f") -> str:
    return "n/a" if value is None else format(value, fmt)


def _u(u: float | None, ci: dict[str, Any]) -> str:
    if u is None:
        return "n/a"
    if ci.get("low") is None or ci.get("high") is None:
        return f"{u:.4f}"
    return f"{u:.4f} [{1 + ci['low']:.3f}, {1 + ci['high']:.3f}]"


def _spread(s: dict[str, Any]) -> str:
    if s["mean"] is None:
        return "n/a"
    return _f(s["mean"], ".4f") + ("" if s["std"] is None else f" ± {s['std']:.4f}")


def best_model(
    result: dict[str, Any], scheme: str = "fixed_origin", *, variant: str | None = None
) -> str | None:
    """The model with the lowest RMSE of a scheme, the random walk excluded (of one
    `variant` only, if given); None if there is none."""
    rows = result["schemes"][scheme]["models"]
    names = [n for n in rows if n != RANDOM_WALK and variant in (None, rows[n]["variant"])]
    return min(names, key=lambda n: rows[n]["metrics"]["rmse"]) if names else None


def render_regression(result: dict[str, Any], *, figure: str | None = "regression.png") -> str:
    """The Markdown section of docs/results.md for next_close."""
    pr = result["protocol"]
    out = [
        "## Target `next_close`: next-day close against the random walk",
        "",
        f"Asked on D, {pr['description']}. Train {pr['n_train_days']} days up to "
        f"{pr['train_end']}, test {pr['test_start']} to {pr['test_end']}, "
        f"{pr['n_test_days']} days; run time {pr['seconds'] / 60:.1f} min "
        f"({pr['n_fits']} network fits).",
        "",
        "- Networks regress the next day's log return (standardised with the training days' "
        "mean and std; MSE; early stopping on the last "
        f"{pr['train']['val_fraction']:.0%} of training windows) from the {pr['window']}-day "
        "windows of next_day (price features, plus events or text for the TCN ablations); the "
        "price reported is close[t-1] x exp(predicted log return). Seeds "
        f"{list(pr['seeds'])} (fixed origin), {list(pr['rolling_seeds'])} (rolling origin, "
        f"refit every {pr['refit_every']} test days); the row is the seed ensemble (mean "
        "predicted log return), *U per seed* the mean ± sample std (ddof=1) over seeds.",
        "- *(min-max level)* rows are the seed tutorials' framing: the last "
        f"{pr['options']['level_window']} closes min-max scaled (scaler fitted on the rows "
        "before the test period only), the scaled next close regressed with MSE. "
        "*(wavelet-denoised)*: each window's price features denoised on their own (db2, at most 3 "
        "levels, soft universal threshold), so causal.",
        "- Random walk: tomorrow's close = today's. ARIMA(1,0,1) on log returns, fitted on the "
        "training days, parameters frozen, state filtered through the data up to t-1.",
        "- U = RMSE / RMSE of the random walk on the same days (U < 1 beats it); [95%]: paired "
        "moving-block bootstrap over test days of U - 1 (models.stats.block_bootstrap_diff, "
        f"{pr.get('n_resamples', 2000)} resamples, block length from the squared-error "
        "difference). Dir. acc.: "
        "the implied move called up iff predicted close >= previous close, as the label "
        "(up iff close >= previous close), so the random walk calls up every day. DM: "
        "Diebold-Mariano test of equal squared error vs the random walk (Newey-West HAC "
        "variance, Harvey-Leybourne-Newbold correction, t with n-1 df, two-sided; negative = "
        "lower loss than the random walk). r move: correlation of the implied move (predicted "
        "minus previous close) with the realised move (undefined for the random walk). Lag "
        "r0 / r1: correlation of the predicted line's day-to-day change with the realised "
        "change of the same day / of the previous day; the random walk, whose line is "
        "yesterday's close, has r1 = 1 and r0 ~ 0: a line that lags the price by a day.",
    ]
    for scheme, block in result["schemes"].items():
        out += [
            "",
            f"### {SCHEME_TITLES.get(scheme, scheme)}: {block['n_days']} test days",
            "",
            "| model | regresses | RMSE | MAE | MAPE % | U [95%] | U per seed | Dir. acc. "
            "| r move | DM stat | DM p | lag r0 | lag r1 | seeds |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, row in block["models"].items():
            m = row["metrics"]
            out.append(
                f"| {name} | {row['variant']} | {m['rmse']:.1f} | {m['mae']:.1f} | "
                f"{m['mape']:.3f} | {_u(m['theil_u'], row['u_interval'])} | "
                f"{_spread(row['per_seed']['theil_u'])} | {m['direction_accuracy']:.3f} | "
                f"{_f(row['move_corr'])} | "
                f"{_f(row['dm']['stat'], '.2f')} | {_f(row['dm']['p_value'])} | "
                f"{_f(row['lag']['same_day'])} | {_f(row['lag']['previous_day'])} | "
                f"{row['n_seeds']} |"
            )
        # "below 1" as printed (4 decimals): U = 0.99998 prints 1.0000 and is not listed
        beat = [
            n
            for n, r in block["models"].items()
            if r["metrics"]["theil_u"] is not None and round(r["metrics"]["theil_u"], 4) < 1
        ]
        sig = [n for n in beat if (block["models"][n]["dm"]["p_value"] or 1) < 0.05]
        below = [n for n in beat if (block["models"][n]["u_interval"].get("high") or 0) < 0]
        worse = [
            n
            for n, r in block["models"].items()
            if (r["dm"]["stat"] or 0) > 0 and (r["dm"]["p_value"] or 1) < 0.05
        ]
        out += [
            "",
            f"U < 1 at 4 decimals: {', '.join(beat) if beat else 'none'}; of them with DM "
            f"p < 0.05 (unadjusted): {', '.join(sig) if sig else 'none'}; with the whole 95% "
            f"interval of U below 1: {', '.join(below) if below else 'none'}. Worse than the "
            "random walk "
            f"with DM p < 0.05: {', '.join(worse) if worse else 'none'}.",
        ]
    if figure and "fixed_origin" in result["schemes"]:
        best, level = best_model(result), best_model(result, variant="min-max level")
        out += [
            "",
            f"![next_close: real close, {best} and the random walk]({figure})",
            "",
            f"Real close, the fixed-origin model with the lowest RMSE ({best}), the random walk"
            + (f" and the best of the tutorials' framing ({level})" if level else "")
            + " over the test period; right: the last 60 test days.",
        ]
    return "\n".join(out) + "\n"


def plot_regression(
    result: dict[str, Any], path: str | Path, *, scheme: str = "fixed_origin", zoom: int = 60
) -> Path:
    """The docs figure: real close, the best model by RMSE, the best min-max-level model (if
    any) and the random walk over the test period (left) and over its last `zoom` days
    (right). PNG via matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dates = pd.to_datetime(result["dates"])
    close = np.asarray(result["close"])
    rw = np.asarray(result["close_prev"])
    rows = result["schemes"][scheme]["models"]
    lines = [(best_model(result, scheme), "tab:red", "-")]
    level = best_model(result, scheme, variant="min-max level")
    if level and level != lines[0][0]:
        lines.append((level, "tab:green", "-"))
    fig, axes = plt.subplots(
        1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [2, 1]}, constrained_layout=True
    )
    for ax, sl in ((axes[0], slice(None)), (axes[1], slice(-zoom, None))):
        ax.plot(dates[sl], close[sl], color="black", lw=1.4, label="real close")
        for name, colour, style in lines:
            u = rows[name]["metrics"]["theil_u"]
            ax.plot(
                dates[sl],
                np.asarray(rows[name]["pred_close"])[sl],
                color=colour,
                lw=1.0,
                ls=style,
                label=f"{name} (U {u:.4f})",
            )
        ax.plot(
            dates[sl],
            rw[sl],
            color="tab:blue",
            lw=1.0,
            ls="--",
            label="random walk (previous close)",
        )
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelrotation=30)
    axes[0].set_title(f"DJIA next-day close, test period ({len(dates)} days)")
    axes[1].set_title(f"last {zoom} test days")
    axes[0].set_ylabel("adjusted close")
    axes[0].legend(loc="lower left", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
