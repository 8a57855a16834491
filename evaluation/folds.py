"""The harness's configuration, folds and schemes: which days each fit trains on and scores.

A plan is [(training days, test block)]; `make_folds` labels every day under each fold
(big_move's q fitted on the fold's training days only); `fit_fold` fits one model on one
fold through the core's fitting step (models.fitting); `fold_calls` calls each fold's test
days at the cut chosen on its own training days.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.baselines import Baseline, BaselineData
from models.fitting import Fitted, PriceHistory, fit_window_model, predict_days
from models.metrics import decision_cut
from models.networks import NetParams
from models.targets import Target
from models.train import TrainConfig
from models.zoo import NEURAL_MODELS, NeuralSpec

__all__ = [
    "EvalConfig",
    "Fold",
    "baseline_probs",
    "combined_inputs",
    "fit_fold",
    "fold_calls",
    "labels_key",
    "make_folds",
    "scheme_days",
    "scheme_predictions",
]


@dataclass
class EvalConfig:
    """One evaluation's settings: the split (ISO dates; by default the demo's), the window in
    trading days, seeds, targets, schemes and their refits, the models and baselines run,
    the bootstrap, the search and the training defaults."""

    train_end: str = "2014-12-31"
    test_start: str = "2015-01-02"
    test_end: str = "2016-07-01"
    window: int = 20
    seeds: tuple[int, ...] = (0, 1, 2)
    rolling_seeds: tuple[int, ...] = (0, 1, 2)
    targets: tuple[str, ...] = ("next_day", "same_day", "big_move")
    schemes: tuple[str, ...] = ("fixed_origin", "rolling_origin", "rolling_window")
    refit_every: int = 189
    window_years: int = 4
    abrupt_quantile: float = 0.9
    denoise: bool = False  # causal wavelet denoising of each window's prices (db2, <= 3 levels)
    models: tuple[str, ...] = tuple(NEURAL_MODELS)
    # The time budget (under 30 minutes on 2 cores): every model runs on the fixed origin;
    # only these also on the rolling schemes; the tutorial networks (RNN ... 1-D CNN) only
    # for `tutorial_targets`.
    rolling_models: tuple[str, ...] = ("TCN", "KDTCN")
    tutorial_targets: tuple[str, ...] = ("next_day",)
    baselines: tuple[str, ...] | None = None  # None: every baseline of the target's kind
    block_length: int | None = None  # moving-block bootstrap; None: chosen from the data
    n_resamples: int = 2000
    # Optuna search per target on folds inside the training period (evaluation.tune); 0: off.
    tune_trials: int = 0
    tune_models: tuple[str, ...] = ("TCN", "KDTCN")
    tune_storage: str | None = None  # an Optuna RDB URL (PostgreSQL); None: in memory
    # choose KDTCN's variant (KDTCN_VARIANTS) on the search's folds, with 2 seeds
    select_variant: bool = True
    regression: bool = True  # also next_close against the random walk (evaluation.regression)
    # the models compared with their kind's `compared_with` by the paired bootstrap
    compared: tuple[str, ...] = ("KDTCN",)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass(frozen=True)
class Fold:
    """One fit of a scheme: the training days, the test block it scores, and the labels of
    every day under this fit (big_move's threshold q is fitted on `fit` days only)."""

    fit: np.ndarray
    test: np.ndarray
    labels: np.ndarray
    threshold: float | None


def make_folds(
    rule: Target, close: np.ndarray, plan: list[tuple[np.ndarray, np.ndarray]]
) -> list[Fold]:
    """The folds of a plan ([(training days, test block)]) for one target."""
    out = []
    for fit, test in plan:
        threshold = rule.fit_threshold(close, fit)
        out.append(Fold(fit, test, rule.labels(close, threshold), threshold))
    return out


def scheme_predictions(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    folds: list[Fold],
    *,
    scheme: str,
    cfg: EvalConfig,
    rule: Target,
    seed: int,
    net: NetParams | None = None,
    train: TrainConfig | None = None,
    history: PriceHistory | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(probabilities on the training days, on the test days) of each fold: one fit per
    fold on the rows observable before its block. A rolling-origin plan is a walk-forward
    chain whose cuts are the days before its blocks (app.services.walk_forward fits the same
    models)."""
    out = []
    for fold in folds:
        fitted = fit_fold(
            spec,
            price_rows,
            event_rows,
            fold,
            window=cfg.window,
            rule=rule,
            train=train or cfg.train,
            seed=seed,
            net=net,
            denoise=cfg.denoise or spec.denoise,
            rolling_window=scheme == "rolling_window",
            history=history,
        )
        out.append((predict_days(fitted, fold.fit), predict_days(fitted, fold.test)))
    return out


def fit_fold(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    fold: Fold,
    *,
    window: int,
    rule: Target,
    train: TrainConfig,
    seed: int,
    net: NetParams | None = None,
    denoise: bool = False,
    rolling_window: bool = False,
    history: PriceHistory | None = None,
) -> Fitted:
    """`fit_window_model` on one fold: normalised on the rows observable before its test
    block (from its first training day on, for a rolling window), fitted on its days;
    pre-trained on `history` (labelled with the fold's threshold) when the spec asks."""
    fit_rows = np.zeros(len(fold.labels), bool)
    fit_rows[1 : fold.test[0]] = True  # rows observable before the block
    if rolling_window:
        fit_rows[: int(fold.fit.min())] = False
    pretrain = None
    if spec.pretrain:
        if history is None:
            raise ValueError("a pre-trained model needs the price history before the news")
        pretrain = (history, rule.labels(history.close, fold.threshold))
    return fit_window_model(
        spec,
        price_rows,
        event_rows,
        fold.labels,
        fit_rows,
        fold.fit,
        window=window,
        rule=rule,
        train=train,
        seed=seed,
        denoise=denoise,
        net=net,
        pretrain=pretrain,
    )


def fold_calls(
    folds: list[Fold], probs: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Test-day probabilities and calls of a scheme, each fold called at the cut chosen on
    its own training days (models.metrics.decision_cut); and the cuts."""
    p_test, calls, cuts = [], [], []
    for fold, (p_fit, p_block) in zip(folds, probs, strict=True):
        cut = decision_cut(p_fit, fold.labels[fold.fit])
        cuts.append(cut)
        p_test.append(p_block)
        calls.append((p_block >= cut).astype(np.int64))
    return np.concatenate(p_test), np.concatenate(calls), cuts


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


def combined_inputs(inputs: Mapping[str, np.ndarray | None]) -> dict[str, np.ndarray | None]:
    """`inputs` plus the side-by-side inputs that NEURAL_MODELS name as "a+b" (e.g. the
    KG events beside the day's VADER sentiment), when every part is present."""
    out = dict(inputs)
    for spec in NEURAL_MODELS.values():
        key = spec.events
        if key and "+" in key and key not in out:
            parts = [out.get(k) for k in key.split("+")]
            if all(p is not None for p in parts):
                out[key] = np.hstack(parts)  # type: ignore[arg-type]
    return out


def baseline_probs(
    fn: Baseline, folds: list[Fold], returns: np.ndarray, news: np.ndarray | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(probabilities on the training days, on the test days) of each fold from the
    baseline `fn`, given the fold's labels and threshold and fitted on its training days;
    `returns`: the daily log returns, `news`: headlines per trading day."""
    out = []
    for fold in folds:
        data = BaselineData(returns, fold.labels, fold.threshold, news)
        p = fn(data, fold.fit, np.concatenate([fold.fit, fold.test]))
        out.append((p[: len(fold.fit)], p[len(fold.fit) :]))
    return out


def labels_key(folds: list[Fold]) -> str:
    """A digest of folds' days and labels: two targets whose folds share it give a
    price-only model the same windows and labels."""
    digest = hashlib.sha1()
    for fold in folds:
        for part in (fold.fit, fold.test, fold.labels):
            digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()
