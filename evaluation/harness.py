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

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
import torch

from evaluation.folds import (
    EvalConfig,
    Fold,
    baseline_probs,
    combined_inputs,
    fold_calls,
    make_folds,
    scheme_days,
    scheme_predictions,
)
from evaluation.tune import FOLD_DAYS, N_FOLDS, inner_plan, select_variant, study_name, tune
from models.features import price_features
from models.fitting import PriceHistory
from models.kinds import BigMove, Direction
from models.metrics import abrupt_masks, fast_auc, fast_mcc, json_safe, probability_scores
from models.stats import block_bootstrap_diff, holm, seed_summary
from models.targets import Target, get_target, log_returns
from models.zoo import KDTCN_VARIANTS, NEURAL_MODELS

__all__ = ["COMPARISONS", "run_evaluation"]


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
    {target: {tuned model: evaluation.tune.Tuned}}, the hyper-parameters to use without a search
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
            for name, fn in rule.kind.baselines().items():
                if cfg.baselines is not None and name not in cfg.baselines:
                    continue
                if name == "News volume" and news is None:
                    continue
                p, calls, cuts = fold_calls(folds, baseline_probs(fn, folds, returns, news))
                rows[name] = {
                    "kind": "baseline",
                    **_summarise([(p, calls)], (p, calls), y, subsets, cuts),
                }
                ensembles[name] = (p, calls)
            seeds = cfg.seeds if scheme == "fixed_origin" else cfg.rolling_seeds
            fitted_as: dict[tuple[Any, ...], str] = {}
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
                same = fitted_as.setdefault((spec.fit_key, spec.tuned_from), name)
                if same != name:  # KDTCN's chosen variant: the same fits, not run twice
                    rows[name] = {**rows[same], "same_as": same}
                    ensembles[name] = ensembles[same]
                    for seed in seeds:
                        if progress:
                            progress(f"{target} {scheme} {name} seed {seed} (= {same})")
                    continue
                event_rows = inputs.get(spec.events) if spec.events else None
                source = tuned.get(spec.tuned_from or "")
                runs = []
                for seed in seeds:
                    searched = (source.net, asdict(source.train)) if source else None
                    fit = (spec.fit_key, repr(searched), scheme, folds_key, seed)
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
                for other in rule.kind.compared_with:
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
    """KDTCN's variant for `rule` (evaluation.tune.select_variant) with KDTCN's searched settings
    (`tuned`, or the defaults), among those whose inputs are present; None with fewer than
    two."""
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
# KDTCN is compared with these on every scheme (paired moving-block bootstrap; Holm-adjusted
# over every comparison of the run): each kind's `compared_with` (models.kinds).
COMPARISONS: dict[str, tuple[str, ...]] = {
    kind.name: kind.compared_with for kind in (Direction(), BigMove())
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
