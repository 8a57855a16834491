"""One evaluation harness: every model, every target, three validation schemes, same days.

Protocol (all of it chronological):
* split: train up to `train_end` (its last `val_fraction` of samples is the validation tail
  for early stopping), test `test_start`..`test_end`;
* normalisation statistics, big_move's threshold q and every decision cut are fitted on the
  training days of each fit (a fold); the test days choose nothing;
* schemes: fixed origin (fit once), rolling-origin recalibration (expanding training set,
  refit every `refit_every` test days), rolling window (training set of the last
  `window_years` years, refit every `refit_every` test days);
* neural models run over `seeds` (per-seed mean and sample std, and the seed ensemble: the
  mean probability); deterministic baselines once;
* every model gives probabilities: AUC and Brier score from them, MCC, balanced accuracy,
  accuracy and F1 from the calls at the cut chosen on training days;
* KDTCN against the main baselines: paired moving-block bootstrap over test days (models
  .stats), Holm-adjusted across every comparison of the run;
* metrics on all test days and on the two abrupt-change subsets (see models.metrics).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from models.baselines import DIRECTION_BASELINES, Baseline, BaselineData
from models.features import Normaliser, price_features
from models.inputs import EVENT_SLOTS, Windows, make_windows, set_normaliser
from models.metrics import (
    abrupt_masks,
    decision_cut,
    fast_auc,
    fast_mcc,
    json_safe,
    probability_scores,
)
from models.networks import NetParams, SequenceClassifier
from models.stats import block_bootstrap_diff, holm, seed_summary
from models.targets import Target, get_target, log_returns
from models.train import (
    History,
    TrainConfig,
    fit_classifier,
    predict_outputs,
    predict_proba,
    seed_everything,
)

__all__ = [
    "NEURAL_MODELS",
    "EvalConfig",
    "KDTCN_VARIANTS",
    "PriceHistory",
    "combined_inputs",
    "Fitted",
    "Fold",
    "fit_fold",
    "fit_window_model",
    "fold_calls",
    "make_folds",
    "normalised_windows",
    "predict_days",
    "predict_windows",
    "standardised_targets",
    "run_evaluation",
    "scheme_days",
    "scheme_predictions",
]


@dataclass(frozen=True)
class NeuralSpec:
    encoder: str
    prices: bool
    events: str | None  # key into the `inputs` dict, or None
    highway: int = 0  # steps of the linear autoregressive path over prices (0: none)
    pretrain: bool = False  # first fitted on the price history before the news (see below)
    denoise: bool = False  # each window's prices wavelet-denoised on their own (causal)
    # > 0: `events` names event-set rows of this many slots, pooled by the network's
    # attention (models.networks) instead of the fixed 1/rank mean
    event_slots: int = 0


@dataclass(frozen=True)
class PriceHistory:
    """Raw daily price feature rows and adjusted closes of the years before the news
    (models.history: the DJIA from 1985), for pre-training. A model with `pretrain` is
    first fitted on these days' windows, with every event input at its "no news" value,
    then fitted on its fold from those weights (early stopping on each one's own tail)."""

    price_rows: np.ndarray
    close: np.ndarray
    first: str  # the first and last day (ISO dates), for the report
    last: str
    epochs: int = 12
    batch_size: int = 256


HIGHWAY = 5  # the TCN family's linear path reads the prices of the last 5 days
NEURAL_MODELS: dict[str, NeuralSpec] = {
    "TCN": NeuralSpec("tcn", True, None, HIGHWAY),
    "WB-TCN": NeuralSpec("tcn", True, "words", HIGHWAY),
    "EB-TCN": NeuralSpec("tcn", True, "events_nokg", HIGHWAY),
    "KDEB-TCN": NeuralSpec("tcn", False, "kg_events"),
    "KDTCN": NeuralSpec("tcn", True, "kg_events", HIGHWAY),
    "KDTCN (1/rank mean)": NeuralSpec("tcn", True, "kg_events", HIGHWAY),
    "KDTCN w/o highway": NeuralSpec("tcn", True, "kg_events"),
    "KDTCN+VADER": NeuralSpec("tcn", True, "kg_events+vader", HIGHWAY),
    "KDTCN (attention)": NeuralSpec("tcn", True, "kg_event_sets", HIGHWAY, event_slots=EVENT_SLOTS),
    "TCN (wavelet-denoised)": NeuralSpec("tcn", True, None, HIGHWAY, denoise=True),
    "TCN (pre-trained)": NeuralSpec("tcn", True, None, HIGHWAY, pretrain=True),
    "KDTCN (pre-trained)": NeuralSpec("tcn", True, "kg_events", HIGHWAY, pretrain=True),
    "ST-TCN": NeuralSpec("tcn", True, "sentences", HIGHWAY),
    "VADER-TCN": NeuralSpec("tcn", True, "vader", HIGHWAY),
    "RNN": NeuralSpec("rnn", True, None),
    "LSTM": NeuralSpec("lstm", True, None),
    "Stacked LSTM": NeuralSpec("stacked_lstm", True, None),
    "GRU": NeuralSpec("gru", True, None),
    "BiLSTM": NeuralSpec("bilstm", True, None),
    "1-D CNN": NeuralSpec("cnn", True, None),
}


# KDTCN's variants: how a day's events are pooled and which text channel stands beside them.
# `run_evaluation` chooses one per target on validation folds inside the training period
# (models.tune.select_variant) and the KDTCN row runs the one chosen; served versions read
# the choice from models/tuned.json. "KDTCN" in NEURAL_MODELS is the 1/rank mean, the
# paper's pooling, which a run without the selection keeps.
KDTCN_VARIANTS = ("KDTCN (1/rank mean)", "KDTCN (attention)", "KDTCN+VADER")


@dataclass
class EvalConfig:
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
    # Optuna search per target on folds inside the training period (models.tune); 0: off.
    tune_trials: int = 0
    tune_models: tuple[str, ...] = ("TCN", "KDTCN")
    tune_storage: str | None = None  # an Optuna RDB URL (PostgreSQL); None: in memory
    # choose KDTCN's variant (KDTCN_VARIANTS) on the search's folds, with 2 seeds
    select_variant: bool = True
    regression: bool = True  # also next_close against the random walk (models.regression_eval)
    # the models compared with COMPARISONS[kind] by the paired bootstrap (each one present)
    compared: tuple[str, ...] = ("KDTCN",)
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
    # a regressor's (mean, std) of its training targets: its outputs are standardised values
    value_scale: tuple[float, float] | None = None


def standardised_targets(
    windows: Windows, values: np.ndarray, days: np.ndarray
) -> tuple[Windows, float, float]:
    """The windows predicting `days`, their targets the standardised `values` of those days
    (mean and std of the values over `days`): what a regressor is fitted on."""
    train = windows.subset(np.isin(windows.day, days))
    mean, std = float(np.mean(values[days])), float(np.std(values[days]))
    z = ((values[train.day] - mean) / std).astype(np.float32)
    return Windows(train.x, z, train.anchor), mean, std


def normalised_windows(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    labels: np.ndarray,
    fit_mask_rows: np.ndarray,
    *,
    window: int,
    target: str,
    denoise: bool = False,
) -> tuple[Normaliser | None, Normaliser | None, Windows]:
    """The inputs `spec` reads, normalised with statistics of the fitting rows only, cut into
    every window whose label is known (`labels` < 0: no window); and the normalisers."""
    pn = Normaliser.fit(price_rows[fit_mask_rows]) if spec.prices else None
    en = None
    if spec.events is not None and event_rows is not None:
        fit_rows = event_rows[fit_mask_rows]
        en = (
            set_normaliser(fit_rows, spec.event_slots)
            if spec.event_slots
            else Normaliser.fit(fit_rows)
        )
    p = pn.transform(price_rows) if pn else None
    e = en.transform(event_rows) if en and event_rows is not None else None
    return pn, en, make_windows(p, e, labels, window=window, target=target, denoise=denoise)


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
    net: NetParams | None = None,
    pretrain: tuple[PriceHistory, np.ndarray] | None = None,
    values: np.ndarray | None = None,
) -> Fitted:
    """Normalise on the fitting rows, fit on the windows predicting `train_days`.

    The one fitting step of the evaluation harness and of the served versions
    (app.services.training), so both give the same model for the same data, cut and seed.
    `pretrain`: (the history, its labels under this fit's target and threshold), used when
    `spec.pretrain`; its rows are normalised with this fit's price normaliser.
    `values`: fit a regressor of these per-day values (standardised on `train_days`, MSE)
    instead of a classifier of `up`; `up` then only says which days have a window.
    """
    pn, en, windows = normalised_windows(
        spec,
        price_rows,
        event_rows,
        up,
        fit_mask_rows,
        window=window,
        target=target,
        denoise=denoise,
    )
    seed_everything(seed)  # the initial weights, too, come from the seed
    model = SequenceClassifier(
        encoder=spec.encoder,
        price_dim=len(pn.mean) if pn else 0,
        event_dim=len(en.mean) if en else 0,
        params=net,
        highway=spec.highway,
        event_slots=spec.event_slots,
    )
    if spec.pretrain and pretrain is None:
        raise ValueError("a pre-trained model needs the price history before the news")
    if spec.pretrain and values is not None:
        raise ValueError("pre-training fits classifiers only")
    if spec.pretrain and pretrain is not None and pn is not None:
        model = _pretrain(model, pretrain, pn, en, event_rows, window, target, train, seed)
    if values is None:
        model, history = fit_classifier(
            model, windows.subset(np.isin(windows.day, train_days)), config=train, seed=seed
        )
        return Fitted(model, pn, en, windows, history)
    fit_on, mean, std = standardised_targets(windows, values, train_days)
    model, history = fit_classifier(model, fit_on, config=train, seed=seed, loss_fn=nn.MSELoss())
    return Fitted(model, pn, en, windows, history, value_scale=(mean, std))


def _pretrain(
    model: SequenceClassifier,
    pretrain: tuple[PriceHistory, np.ndarray],
    pn: Normaliser,
    en: Normaliser | None,
    event_rows: np.ndarray | None,
    window: int,
    target: str,
    train: TrainConfig,
    seed: int,
) -> SequenceClassifier:
    """Fit `model` on the history's windows (events at the normalised value of a day
    without news), early-stopped on the history's own last `val_fraction`."""
    history, labels = pretrain
    p = pn.transform(history.price_rows)
    e = None
    if en is not None and event_rows is not None:
        quiet = en.transform(np.zeros((1, event_rows.shape[1]), np.float32))
        e = np.repeat(quiet, len(p), axis=0)
    windows = make_windows(p, e, labels, window=window, target=target)
    config = dataclasses.replace(train, epochs=history.epochs, batch_size=history.batch_size)
    model, _ = fit_classifier(model, windows, config=config, seed=seed)
    return model


def predict_windows(fitted: Fitted, x: np.ndarray) -> np.ndarray:
    """What `fitted` predicts for normalised windows `x`: P(positive) of a classifier, the
    value (in the values' units, float64) of a regressor."""
    if fitted.value_scale is None:
        return predict_proba(fitted.network, x)
    mean, std = fitted.value_scale
    return predict_outputs(fitted.network, x).astype(np.float64) * std + mean


def predict_days(fitted: Fitted, days: np.ndarray) -> np.ndarray:
    """What `fitted` predicts for each of `days` (row indices of predicted days, ascending):
    P(positive) of a classifier, the value (in the values' units) of a regressor."""
    test = fitted.windows.subset(np.isin(fitted.windows.day, days))
    probs = predict_windows(fitted, test.x)
    order = np.argsort(test.day)
    assert np.array_equal(test.day[order], np.sort(days)), "test days misaligned"
    return probs[order]


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
    target: str,
    seed: int,
    net: NetParams | None = None,
    train: TrainConfig | None = None,
    history: PriceHistory | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(probabilities on the training days, on the test days) of each fold: one fit per
    fold on the rows observable before its block. A rolling-origin plan is a walk-forward
    chain whose cuts are the days before its blocks (app.services.training fits the same
    models)."""
    out = []
    for fold in folds:
        fitted = fit_fold(
            spec,
            price_rows,
            event_rows,
            fold,
            window=cfg.window,
            target=target,
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
    target: str,
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
        pretrain = (history, get_target(target).labels(history.close, fold.threshold))
    return fit_window_model(
        spec,
        price_rows,
        event_rows,
        fold.labels,
        fit_rows,
        fold.fit,
        window=window,
        target=target,
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


def baselines_for(rule: Target) -> dict[str, Baseline]:
    """The baselines of a target's kind of label."""
    if rule.kind == "big_move":
        from models.vol_baselines import BIG_MOVE_BASELINES

        return BIG_MOVE_BASELINES
    return DIRECTION_BASELINES


def _baseline_probs(
    fn: Baseline, folds: list[Fold], returns: np.ndarray, news: np.ndarray | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for fold in folds:
        data = BaselineData(returns, fold.labels, fold.threshold, news)
        p = fn(data, fold.fit, np.concatenate([fold.fit, fold.test]))
        out.append((p[: len(fold.fit)], p[len(fold.fit) :]))
    return out


def run_evaluation(
    prices: pd.DataFrame,
    inputs: Mapping[str, np.ndarray | None],
    *,
    config: EvalConfig | None = None,
    progress: Callable[[str], None] | None = None,
    history: PriceHistory | None = None,
    fixed_tuning: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run every model of `config` and return a JSON-serialisable result dict. Models that
    pre-train run only when the price `history` before the news is given. `fixed_tuning`:
    {target: {tuned model: models.tune.Tuned}}, the hyper-parameters to use without a search
    (a frozen protocol's); read only when `config.tune_trials` is 0."""
    cfg = config or EvalConfig()
    inputs = combined_inputs(inputs)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    started = time.perf_counter()
    dates = pd.DatetimeIndex(prices.index)
    price_rows = price_features(prices).to_numpy(np.float32)
    close = prices["adj_close"].to_numpy(float)
    returns = log_returns(close)
    news = inputs.get("news")
    first_day = cfg.window + 1  # the first day with a full window before it
    all_days = np.arange(first_day, len(prices))
    train_days = all_days[dates[all_days] <= pd.Timestamp(cfg.train_end)]
    test_days = all_days[
        (dates[all_days] >= pd.Timestamp(cfg.test_start))
        & (dates[all_days] <= pd.Timestamp(cfg.test_end))
    ]
    up = get_target("next_day").labels(close)
    subsets = abrupt_masks(close, test_days, train_days, quantile=cfg.abrupt_quantile)
    result: dict[str, Any] = {
        "protocol": {
            **{k: v for k, v in asdict(cfg).items() if k != "train"},
            "train": asdict(cfg.train),
            "n_train_days": int(len(train_days)),
            "n_test_days": int(len(test_days)),
            "test_share_up": float(up[test_days].mean()),
            "subsets": {
                k: {"threshold": v["threshold"], "n_days": int(np.sum(np.asarray(v["mask"])))}
                for k, v in subsets.items()
            },
        },
        "results": {},
    }
    comparisons: dict[str, dict[str, Any]] = {}
    result["tuning"] = {}
    # A price-only model reads the same windows for both direction targets, with the same
    # labels (the move of the day after the anchor): its search and fits are run once and
    # shared (identical results, as the seeded search and fits would give again).
    shared: dict[tuple[Any, ...], Any] = {}
    for target in cfg.targets:
        rule = get_target(target)
        result["results"][target] = {}
        tuned: dict[str, Any] = {}
        if cfg.tune_trials:
            from models.tune import FOLD_DAYS, N_FOLDS, inner_plan, study_name, tune

            for name in cfg.tune_models:
                spec = NEURAL_MODELS[name]
                if spec.events is not None and inputs.get(spec.events) is None:
                    continue
                plan = inner_plan(train_days, n_folds=N_FOLDS, fold_days=FOLD_DAYS)
                inner = make_folds(rule, close, plan)
                key = ("tune", name, _labels_key(inner))
                if spec.events is not None or key not in shared:
                    shared[key] = tune(
                        spec,
                        price_rows,
                        inputs.get(spec.events) if spec.events else None,
                        close,
                        train_days,
                        rule=rule,
                        window=cfg.window,
                        train=cfg.train,
                        n_trials=cfg.tune_trials,
                        storage=cfg.tune_storage,
                        study_name=study_name(
                            target,
                            name,
                            cfg,
                            price_rows,
                            inputs.get(spec.events) if spec.events else None,
                            close,
                        ),
                    )
                tuned[name] = shared[key]
                if progress:
                    progress(f"{target} tuned {name}: {tuned[name].n_trials} trials")
            result["tuning"][target] = {k: v.to_dict() for k, v in tuned.items()}
        elif fixed_tuning is not None:
            tuned = dict(fixed_tuning.get(target, {}))
        specs = dict(NEURAL_MODELS)
        if cfg.select_variant and "KDTCN" in cfg.models:
            chosen = _select_kdtcn(
                inputs, price_rows, close, train_days, rule, cfg, tuned.get("KDTCN")
            )
            if chosen is not None:
                result.setdefault("selection", {})[target] = chosen
                specs["KDTCN"] = NEURAL_MODELS[chosen["chosen"]]
                if progress:
                    progress(f"{target} KDTCN variant: {chosen['chosen']}")
        for scheme in cfg.schemes:
            folds = make_folds(
                rule, close, scheme_days(scheme, test_days, all_days, train_days, dates, cfg)
            )
            y = np.concatenate([f.labels[f.test] for f in folds])
            folds_key = _labels_key(folds)
            rows: dict[str, Any] = {}
            ensembles: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for name, fn in baselines_for(rule).items():
                if cfg.baselines is not None and name not in cfg.baselines:
                    continue
                if name == "News volume" and news is None:
                    continue
                p, calls, cuts = fold_calls(folds, _baseline_probs(fn, folds, returns, news))
                rows[name] = {
                    "kind": "baseline",
                    **_summarise([(p, calls)], (p, calls), y, subsets, cuts),
                }
                ensembles[name] = (p, calls)
            seeds = cfg.seeds if scheme == "fixed_origin" else cfg.rolling_seeds
            fitted_as: dict[tuple[NeuralSpec, str | None], str] = {}
            for name in cfg.models:
                spec = specs[name]
                if scheme != "fixed_origin" and name not in cfg.rolling_models:
                    continue
                if spec.encoder != "tcn" and target not in cfg.tutorial_targets:
                    continue
                if spec.events is not None and inputs.get(spec.events) is None:
                    continue
                if spec.pretrain and history is None:
                    continue
                same = fitted_as.setdefault((spec, TUNED_FROM.get(name)), name)
                if same != name:  # KDTCN's chosen variant: the same fits, not run twice
                    rows[name] = {**rows[same], "same_as": same}
                    ensembles[name] = ensembles[same]
                    for seed in seeds:
                        if progress:
                            progress(f"{target} {scheme} {name} seed {seed} (= {same})")
                    continue
                event_rows = inputs.get(spec.events) if spec.events else None
                source = tuned.get(TUNED_FROM.get(name, ""))
                runs = []
                for seed in seeds:
                    searched = (source.net, asdict(source.train)) if source else None
                    fit = (spec, repr(searched), scheme, folds_key, seed)
                    if spec.events is not None or fit not in shared:
                        shared[fit] = scheme_predictions(
                            spec,
                            price_rows,
                            event_rows,
                            folds,
                            scheme=scheme,
                            cfg=cfg,
                            target=target,
                            seed=seed,
                            net=source.net if source else None,
                            train=source.train if source else None,
                            history=history,
                        )
                    runs.append(shared[fit])
                    if progress:
                        progress(f"{target} {scheme} {name} seed {seed}")
                per_seed = [fold_calls(folds, r)[:2] for r in runs]
                mean = [
                    (
                        np.mean([r[k][0] for r in runs], axis=0),
                        np.mean([r[k][1] for r in runs], axis=0),
                    )
                    for k in range(len(folds))
                ]
                p, calls, cuts = fold_calls(folds, mean)
                rows[name] = {
                    "kind": "neural",
                    **_summarise(per_seed, (p, calls), y, subsets, cuts),
                }
                ensembles[name] = (p, calls)
            cis = {}
            for model in cfg.compared:
                if model not in ensembles:
                    continue
                for other in COMPARISONS[rule.kind]:
                    if other in ensembles and other != model:
                        pair = f"{model} - {other}"
                        cis[pair] = _compare(y, ensembles[model], ensembles[other], cfg)
                        for metric, ci in cis[pair].items():
                            comparisons[f"{target} {scheme} {pair} {metric}"] = ci
            result["results"][target][scheme] = {
                "models": rows,
                "bootstrap": cis,
                "n_days": int(len(y)),
                "share_positive": float(np.mean(y)),
                "thresholds": [f.threshold for f in folds],
            }
    adjusted = holm({k: v["p_value"] for k, v in comparisons.items()})
    for comparison, ci in comparisons.items():
        ci["p_holm"] = adjusted[comparison]
    result["protocol"]["holm_family"] = len(comparisons)
    if history is not None:
        result["protocol"]["pretrain_history"] = {
            "from": history.first,
            "to": history.last,
            "days": int(len(history.close)),
            "epochs": history.epochs,
            "batch_size": history.batch_size,
        }
    result["protocol"]["seconds"] = round(time.perf_counter() - started, 1)
    result["protocol"]["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return json_safe(result)


def _labels_key(folds: list[Fold]) -> str:
    """A digest of folds' days and labels: two targets whose folds share it give a
    price-only model the same windows and labels."""
    digest = hashlib.sha1()
    for fold in folds:
        for part in (fold.fit, fold.test, fold.labels):
            digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def _select_kdtcn(
    inputs: dict[str, np.ndarray | None],
    price_rows: np.ndarray,
    close: np.ndarray,
    train_days: np.ndarray,
    rule: Target,
    cfg: EvalConfig,
    tuned: Any,
) -> dict[str, Any] | None:
    """KDTCN's variant for `rule` (models.tune.select_variant) with KDTCN's searched settings
    (`tuned`, or the defaults), among those whose inputs are present; None with fewer than
    two."""
    from models.tune import select_variant

    candidates = {
        name: (NEURAL_MODELS[name], inputs.get(NEURAL_MODELS[name].events or ""))
        for name in KDTCN_VARIANTS
    }
    candidates = {k: v for k, v in candidates.items() if v[1] is not None}
    if len(candidates) < 2:
        return None
    return select_variant(
        candidates,
        price_rows,
        close,
        train_days,
        rule=rule,
        window=cfg.window,
        train=tuned.train if tuned else cfg.train,
        net=tuned.net if tuned else None,
    ).to_dict()


# Whose tuned hyper-parameters each model uses (when tuning is on): the event ablations
# share KDTCN's, so they differ from it by their input only; the tutorial networks keep
# the defaults.
TUNED_FROM = {
    "TCN": "TCN",
    "WB-TCN": "KDTCN",
    "EB-TCN": "KDTCN",
    "KDEB-TCN": "KDTCN",
    "KDTCN": "KDTCN",
    "KDTCN (1/rank mean)": "KDTCN",
    "KDTCN w/o highway": "KDTCN",
    "TCN (pre-trained)": "TCN",
    "TCN (wavelet-denoised)": "TCN",
    "KDTCN (pre-trained)": "KDTCN",
    "KDTCN+VADER": "KDTCN",
    "KDTCN (attention)": "KDTCN",
    "ST-TCN": "KDTCN",
    "VADER-TCN": "KDTCN",
}

# KDTCN is compared with these on every scheme (paired moving-block bootstrap; Holm-adjusted
# over every comparison of the run).
COMPARISONS: dict[str, tuple[str, ...]] = {
    "direction": ("Majority", "TCN", "ARIMA(1,0,1)", "Reversal"),
    "big_move": ("Base rate", "TCN", "HAR-LogReg", "GARCH(1,1)"),
}


def _compare(
    y: np.ndarray,
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    cfg: EvalConfig,
) -> dict[str, dict[str, Any]]:
    """KDTCN minus another model: MCC of the calls, AUC of the probabilities."""
    return {
        "mcc": block_bootstrap_diff(
            y, a[1], b[1], fast_mcc, block_length=cfg.block_length, n_resamples=cfg.n_resamples
        ),
        "auc": block_bootstrap_diff(
            y, a[0], b[0], fast_auc, block_length=cfg.block_length, n_resamples=cfg.n_resamples
        ),
    }


def _summarise(
    per_seed: list[tuple[np.ndarray, np.ndarray]],
    ensemble: tuple[np.ndarray, np.ndarray],
    y: np.ndarray,
    subsets: dict[str, dict[str, Any]],
    cuts: list[float],
) -> dict[str, Any]:
    """Per-seed figures (mean, sample std with ddof=1, n) and the seed ensemble's (the mean
    probability, called at the cut chosen on its training days), on all test days and on
    each abrupt subset."""
    masks = {"all": np.ones(len(y), bool), **{k: v["mask"] for k, v in subsets.items()}}
    out: dict[str, Any] = {"per_seed": {}, "ensemble": {}}
    for name, mask in masks.items():
        seed_scores = [probability_scores(y[mask], p[mask], calls=c[mask]) for p, c in per_seed]
        out["per_seed"][name] = {
            k: seed_summary([s[k] for s in seed_scores])
            for k in seed_scores[0]
            if k not in ("n_days", "majority_accuracy")
        }
        p, c = ensemble
        out["ensemble"][name] = probability_scores(y[mask], p[mask], calls=c[mask])
    out["n_seeds"] = len(per_seed)
    out["decision_cuts"] = cuts
    return out
