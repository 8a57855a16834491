"""One evaluation harness: every model, both targets, three validation schemes, same days.

Protocol (all of it chronological):
* split: train up to `train_end` (its last `val_fraction` of samples is the validation tail
  for early stopping, the only model choice made), test `test_start`..`test_end`;
* normalisation statistics are fitted on the rows before the first test day of each fit;
* schemes: fixed origin (fit once), rolling-origin recalibration (expanding training set,
  refit every `refit_every` test days), rolling window (training set of the last
  `window_years` years, refit every `refit_every` test days);
* neural models run over `seeds`; deterministic baselines once (std 0);
* metrics on all test days and on the two abrupt-change subsets (see models.metrics).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from models.baselines import BASELINES
from models.features import Normaliser, price_features, up_labels
from models.inputs import Windows, make_windows
from models.metrics import abrupt_masks, bootstrap_diff, scores
from models.networks import SequenceClassifier
from models.train import (
    History,
    TrainConfig,
    fit_classifier,
    predict_proba,
    seed_everything,
)

__all__ = [
    "NEURAL_MODELS",
    "EvalConfig",
    "Fitted",
    "fit_window_model",
    "predict_days",
    "run_evaluation",
    "scheme_days",
    "scheme_predictions",
]


@dataclass(frozen=True)
class NeuralSpec:
    encoder: str
    prices: bool
    events: str | None  # key into the `inputs` dict, or None


NEURAL_MODELS: dict[str, NeuralSpec] = {
    "TCN": NeuralSpec("tcn", True, None),
    "WB-TCN": NeuralSpec("tcn", True, "words"),
    "EB-TCN": NeuralSpec("tcn", True, "events_nokg"),
    "KDEB-TCN": NeuralSpec("tcn", False, "kg_events"),
    "KDTCN": NeuralSpec("tcn", True, "kg_events"),
    "RNN": NeuralSpec("rnn", True, None),
    "LSTM": NeuralSpec("lstm", True, None),
    "Stacked LSTM": NeuralSpec("stacked_lstm", True, None),
    "GRU": NeuralSpec("gru", True, None),
    "BiLSTM": NeuralSpec("bilstm", True, None),
    "1-D CNN": NeuralSpec("cnn", True, None),
}


@dataclass
class EvalConfig:
    train_end: str = "2014-12-31"
    test_start: str = "2015-01-02"
    test_end: str = "2016-07-01"
    window: int = 20
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    rolling_seeds: tuple[int, ...] = (0, 1)
    targets: tuple[str, ...] = ("same_day", "next_day")
    schemes: tuple[str, ...] = ("fixed_origin", "rolling_origin", "rolling_window")
    refit_every: int = 189
    window_years: int = 4
    abrupt_quantile: float = 0.9
    denoise: bool = False  # causal wavelet denoising of each window's prices (coif3, 3 levels)
    models: tuple[str, ...] = tuple(NEURAL_MODELS)
    baselines: tuple[str, ...] = tuple(BASELINES)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class Fitted:
    """A network fitted by `fit_window_model`, its normalisers, and every window of the
    series normalised with them (to score days after the fit)."""

    network: SequenceClassifier
    price_norm: Normaliser | None
    event_norm: Normaliser | None
    windows: Windows
    history: History


def fit_window_model(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    up: np.ndarray,
    fit_mask_rows: np.ndarray,
    train_days: np.ndarray,
    *,
    window: int,
    target: str,
    train: TrainConfig,
    seed: int,
    denoise: bool = False,
) -> Fitted:
    """Normalise on the fitting rows, fit on the windows predicting `train_days`.

    The one fitting step of the evaluation harness and of the served versions
    (app.services.training), so both give the same model for the same data, cut and seed.
    """
    pn = Normaliser.fit(price_rows[fit_mask_rows]) if spec.prices else None
    en = None
    if spec.events is not None and event_rows is not None:
        en = Normaliser.fit(event_rows[fit_mask_rows])
    p = pn.transform(price_rows) if pn else None
    e = en.transform(event_rows) if en and event_rows is not None else None
    windows = make_windows(p, e, up, window=window, target=target, denoise=denoise)
    seed_everything(seed)  # the initial weights, too, come from the seed
    model = SequenceClassifier(
        encoder=spec.encoder,
        price_dim=p.shape[1] if p is not None else 0,
        event_dim=e.shape[1] if e is not None else 0,
    )
    model, history = fit_classifier(
        model, windows.subset(np.isin(windows.day, train_days)), config=train, seed=seed
    )
    return Fitted(model, pn, en, windows, history)


def predict_days(fitted: Fitted, days: np.ndarray) -> np.ndarray:
    """P(up) of `fitted` for each of `days` (row indices of predicted days, ascending)."""
    test = fitted.windows.subset(np.isin(fitted.windows.day, days))
    probs = predict_proba(fitted.network, test.x)
    order = np.argsort(test.day)
    assert np.array_equal(test.day[order], np.sort(days)), "test days misaligned"
    return probs[order]


def _fit_predict(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    up: np.ndarray,
    fit_mask_rows: np.ndarray,
    train_days: np.ndarray,
    test_days: np.ndarray,
    *,
    cfg: EvalConfig,
    target: str,
    seed: int,
) -> np.ndarray:
    """Fit on the fitting rows and train_days, score test_days."""
    fitted = fit_window_model(
        spec,
        price_rows,
        event_rows,
        up,
        fit_mask_rows,
        train_days,
        window=cfg.window,
        target=target,
        train=cfg.train,
        seed=seed,
        denoise=cfg.denoise,
    )
    return predict_days(fitted, test_days)


def scheme_predictions(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    up: np.ndarray,
    plan: list[tuple[np.ndarray, np.ndarray]],
    *,
    scheme: str,
    cfg: EvalConfig,
    target: str,
    seed: int,
) -> np.ndarray:
    """P(up) of every test day of `plan` ([(training days, test block)]): one fit per block
    on the rows observable before it. A rolling-origin plan is a walk-forward chain whose
    cuts are the days before its blocks (app.services.training fits the same models)."""
    parts = []
    for fit, block in plan:
        fit_rows = np.zeros(len(up), bool)
        fit_rows[1 : block[0]] = True  # rows observable before the block
        if scheme == "rolling_window":
            fit_rows[: int(fit.min())] = False
        parts.append(
            _fit_predict(
                spec,
                price_rows,
                event_rows,
                up,
                fit_rows,
                fit,
                block,
                cfg=cfg,
                target=target,
                seed=seed,
            )
        )
    return np.concatenate(parts)


def _blocks(test_days: np.ndarray, every: int) -> list[np.ndarray]:
    return [test_days[i : i + every] for i in range(0, len(test_days), every)]


def scheme_days(
    scheme: str,
    test_days: np.ndarray,
    all_days: np.ndarray,
    train_days: np.ndarray,
    dates: pd.DatetimeIndex,
    cfg: EvalConfig,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(training days, test block)] for a scheme."""
    if scheme == "fixed_origin":
        return [(train_days, test_days)]
    out = []
    for block in _blocks(test_days, cfg.refit_every):
        first = block[0]
        if scheme == "rolling_origin":
            fit_days = all_days[all_days < first]
        else:
            start = dates[first] - pd.DateOffset(years=cfg.window_years)
            fit_days = all_days[(all_days < first) & (dates[all_days] >= start)]
        out.append((fit_days, block))
    return out


def run_evaluation(
    prices: pd.DataFrame,
    inputs: dict[str, np.ndarray | None],
    *,
    config: EvalConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every model of `config` and return a JSON-serialisable result dict."""
    cfg = config or EvalConfig()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    started = time.perf_counter()
    dates = pd.DatetimeIndex(prices.index)
    price_rows = price_features(prices).to_numpy(np.float32)
    returns = price_rows[:, 0].astype(np.float64)
    up = up_labels(prices)
    close = prices["adj_close"].to_numpy(float)
    first_day = cfg.window + 1  # the first day with a full window before it
    all_days = np.arange(first_day, len(prices))
    train_days = all_days[dates[all_days] <= pd.Timestamp(cfg.train_end)]
    test_days = all_days[
        (dates[all_days] >= pd.Timestamp(cfg.test_start))
        & (dates[all_days] <= pd.Timestamp(cfg.test_end))
    ]
    y = up[test_days]
    subsets = abrupt_masks(close, test_days, train_days, quantile=cfg.abrupt_quantile)
    result: dict[str, Any] = {
        "protocol": {
            **{k: v for k, v in asdict(cfg).items() if k != "train"},
            "train": asdict(cfg.train),
            "n_train_days": int(len(train_days)),
            "n_test_days": int(len(test_days)),
            "test_share_up": float(y.mean()),
            "subsets": {
                k: {"threshold": v["threshold"], "n_days": int(np.sum(v["mask"]))}
                for k, v in subsets.items()
            },
        },
        "results": {},
    }
    for target in cfg.targets:
        result["results"][target] = {}
        for scheme in cfg.schemes:
            plan = scheme_days(scheme, test_days, all_days, train_days, dates, cfg)
            rows: dict[str, Any] = {}
            preds_for_ci: dict[str, np.ndarray] = {}
            for name in cfg.baselines:
                pred = np.concatenate(
                    [BASELINES[name](returns, up, fit, block) for fit, block in plan]
                )
                rows[name] = _summarise([pred], y, subsets)
                preds_for_ci[name] = pred
            seeds = cfg.seeds if scheme == "fixed_origin" else cfg.rolling_seeds
            for name in cfg.models:
                spec = NEURAL_MODELS[name]
                if spec.events is not None and inputs.get(spec.events) is None:
                    continue
                event_rows = inputs.get(spec.events) if spec.events else None
                probs = []
                for seed in seeds:
                    probs.append(
                        scheme_predictions(
                            spec,
                            price_rows,
                            event_rows,
                            up,
                            plan,
                            scheme=scheme,
                            cfg=cfg,
                            target=target,
                            seed=seed,
                        )
                    )
                    if progress:
                        progress(f"{target} {scheme} {name} seed {seed}")
                preds = [(p >= 0.5).astype(np.int64) for p in probs]
                rows[name] = _summarise(preds, y, subsets)
                preds_for_ci[name] = (np.mean(probs, axis=0) >= 0.5).astype(np.int64)
            cis = {}
            if "KDTCN" in preds_for_ci:
                for other in ("TCN", "Majority"):
                    if other in preds_for_ci:
                        cis[f"KDTCN - {other}"] = {
                            m: bootstrap_diff(
                                y, preds_for_ci["KDTCN"], preds_for_ci[other], metric=m
                            )
                            for m in ("mcc", "accuracy")
                        }
            result["results"][target][scheme] = {"models": rows, "bootstrap": cis}
    result["protocol"]["seconds"] = round(time.perf_counter() - started, 1)
    result["protocol"]["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result


def _summarise(
    preds: list[np.ndarray], y: np.ndarray, subsets: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    def agg(per_seed: list[dict[str, float]]) -> dict[str, dict[str, float]]:
        keys = per_seed[0].keys()
        return {
            k: {
                "mean": float(np.mean([s[k] for s in per_seed])),
                "std": float(np.std([s[k] for s in per_seed])),
            }
            for k in keys
        }

    out = {"all": agg([scores(y, p) for p in preds])}
    for name, sub in subsets.items():
        mask = sub["mask"]
        out[name] = agg([scores(y[mask], p[mask]) for p in preds])
    out["n_seeds"] = len(preds)
    return out
