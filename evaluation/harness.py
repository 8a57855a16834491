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
import time
from collections.abc import Callable, Mapping, Sequence
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
    labels_key,
    make_folds,
    scheme_days,
    scheme_predictions,
)
from evaluation.scores import compare, summarise
from evaluation.tune import FOLD_DAYS, N_FOLDS, inner_plan, select_variant, study_name, tune
from models.features import price_features
from models.fitting import PriceHistory
from models.kinds import BigMove, Direction
from models.metrics import abrupt_masks, json_safe
from models.stats import holm
from models.targets import Target, get_target, log_returns
from models.zoo import KDTCN_VARIANTS, NEURAL_MODELS, NeuralSpec

__all__ = ["COMPARISONS", "run_evaluation"]


def run_evaluation(
    prices: pd.DataFrame,
    inputs: Mapping[str, np.ndarray | None],
    *,
    config: EvalConfig | None = None,
    progress: Callable[[str], None] | None = None,
    history: PriceHistory | None = None,
    fixed_tuning: Mapping[str, Mapping[str, Any]] | None = None,
    pairs: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Run every model of `config` and return a JSON-serialisable result dict. Models that
    pre-train run only when the price `history` before the news is given. `fixed_tuning`:
    {target: {tuned model: evaluation.tune.Tuned}}, the hyper-parameters to use without a search
    (a frozen protocol's); read only when `config.tune_trials` is 0. `pairs`: (model, other)
    compared by the same paired bootstrap besides `config.compared`'s comparisons (an
    ablation's), in the same Holm family."""
    started = time.perf_counter()
    run = _Run(prices, inputs, config or EvalConfig(), progress, history, pairs)
    result: dict[str, Any] = {"protocol": run.protocol(), "results": {}, "tuning": {}}
    for target in run.cfg.targets:
        rule = get_target(target)
        result["results"][target] = {}
        tuned: dict[str, Any] = {}
        if run.cfg.tune_trials:
            tuned = run.tune(rule)
            result["tuning"][target] = {k: v.to_dict() for k, v in tuned.items()}
        elif fixed_tuning is not None:
            tuned = dict(fixed_tuning.get(target, {}))
        specs = dict(NEURAL_MODELS)
        chosen = run.select_kdtcn(rule, tuned)
        if chosen is not None:
            result.setdefault("selection", {})[target] = chosen
            specs["KDTCN"] = NEURAL_MODELS[chosen["chosen"]]
        for scheme in run.cfg.schemes:
            result["results"][target][scheme] = run.scheme(rule, scheme, specs, tuned)
    adjusted = holm({k: v["p_value"] for k, v in run.comparisons.items()})
    for comparison, ci in run.comparisons.items():
        ci["p_holm"] = adjusted[comparison]
    result["protocol"]["holm_family"] = len(run.comparisons)
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


class _Run:
    """One evaluation's data, days and caches, and its steps: search, variant selection, and
    each scheme's baselines, neural models and comparisons for a target."""

    def __init__(
        self,
        prices: pd.DataFrame,
        inputs: Mapping[str, np.ndarray | None],
        cfg: EvalConfig,
        progress: Callable[[str], None] | None,
        history: PriceHistory | None,
        pairs: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.cfg = cfg
        self.pairs = tuple(pairs)
        self.inputs = combined_inputs(inputs)
        self.say = progress or (lambda _line: None)
        self.history = history
        torch.set_num_threads(max(1, torch.get_num_threads()))
        self.dates = pd.DatetimeIndex(prices.index)
        self.price_rows = price_features(prices).to_numpy(np.float32)
        self.close = prices["adj_close"].to_numpy(float)
        self.returns = log_returns(self.close)
        self.news = self.inputs.get("news")
        first_day = cfg.window + 1  # the first day with a full window before it
        self.all_days = np.arange(first_day, len(prices))
        self.train_days = self.all_days[self.dates[self.all_days] <= pd.Timestamp(cfg.train_end)]
        self.test_days = self.all_days[
            (self.dates[self.all_days] >= pd.Timestamp(cfg.test_start))
            & (self.dates[self.all_days] <= pd.Timestamp(cfg.test_end))
        ]
        self.subsets = abrupt_masks(
            self.close, self.test_days, self.train_days, quantile=cfg.abrupt_quantile
        )
        # every comparison of the run, for the Holm adjustment
        self.comparisons: dict[str, dict[str, Any]] = {}
        # A price-only model reads the same windows for both direction targets, with the same
        # labels (the move of the day after the anchor): its search and fits are run once and
        # shared (identical results, as the seeded search and fits would give again).
        self.shared: dict[tuple[Any, ...], Any] = {}

    def protocol(self) -> dict[str, Any]:
        """The configuration and the run's days, as the result's `protocol`."""
        up = get_target("next_day").labels(self.close)
        return {
            **{k: v for k, v in asdict(self.cfg).items() if k != "train"},
            "train": asdict(self.cfg.train),
            "n_train_days": int(len(self.train_days)),
            "n_test_days": int(len(self.test_days)),
            "test_share_up": float(up[self.test_days].mean()),
            "subsets": {
                k: {"threshold": v["threshold"], "n_days": int(np.sum(np.asarray(v["mask"])))}
                for k, v in self.subsets.items()
            },
        }

    def events_of(self, spec: NeuralSpec) -> np.ndarray | None:
        """The event input `spec` reads (None for a price-only model or a missing input)."""
        return self.inputs.get(spec.events) if spec.events else None

    def runnable(self, spec: NeuralSpec) -> bool:
        """Whether the run has what `spec` reads (its event input, the price history)."""
        if spec.events is not None and self.inputs.get(spec.events) is None:
            return False
        return not (spec.pretrain and self.history is None)

    def tune(self, rule: Target) -> dict[str, Any]:
        """The search's settings for each tuned model of `rule` (evaluation.tune)."""
        cfg, tuned = self.cfg, {}
        for name in cfg.tune_models:
            spec = NEURAL_MODELS[name]
            if spec.events is not None and self.inputs.get(spec.events) is None:
                continue
            plan = inner_plan(self.train_days, n_folds=N_FOLDS, fold_days=FOLD_DAYS)
            inner = make_folds(rule, self.close, plan)
            key = ("tune", name, labels_key(inner))
            if spec.events is not None or key not in self.shared:
                events = self.events_of(spec)
                self.shared[key] = tune(
                    spec,
                    self.price_rows,
                    events,
                    self.close,
                    self.train_days,
                    rule=rule,
                    window=cfg.window,
                    train=cfg.train,
                    n_trials=cfg.tune_trials,
                    storage=cfg.tune_storage,
                    study_name=study_name(
                        rule.name, name, cfg, self.price_rows, events, self.close
                    ),
                )
            tuned[name] = self.shared[key]
            self.say(f"{rule.name} tuned {name}: {tuned[name].n_trials} trials")
        return tuned

    def select_kdtcn(self, rule: Target, tuned: Mapping[str, Any]) -> dict[str, Any] | None:
        """KDTCN's variant chosen for `rule` on validation folds, when the run selects one."""
        if not (self.cfg.select_variant and "KDTCN" in self.cfg.models):
            return None
        chosen = _select_kdtcn(
            self.inputs,
            self.price_rows,
            self.close,
            self.train_days,
            rule,
            self.cfg,
            tuned.get("KDTCN"),
        )
        if chosen is not None:
            self.say(f"{rule.name} KDTCN variant: {chosen['chosen']}")
        return chosen

    def scheme(
        self,
        rule: Target,
        scheme: str,
        specs: Mapping[str, NeuralSpec],
        tuned: Mapping[str, Any],
    ) -> dict[str, Any]:
        """One scheme of one target: every baseline and neural model on its folds, and the
        compared models' paired bootstrap intervals."""
        cfg = self.cfg
        plan = scheme_days(scheme, self.test_days, self.all_days, self.train_days, self.dates, cfg)
        folds = make_folds(rule, self.close, plan)
        y = np.concatenate([f.labels[f.test] for f in folds])
        rows: dict[str, Any] = {}
        ensembles: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, fn in rule.kind.baselines().items():
            if cfg.baselines is not None and name not in cfg.baselines:
                continue
            if name == "News volume" and self.news is None:
                continue
            probs = baseline_probs(fn, folds, self.returns, self.news)
            p, calls, cuts = fold_calls(folds, probs)
            rows[name] = {
                "kind": "baseline",
                **summarise([(p, calls)], (p, calls), y, self.subsets, cuts),
            }
            ensembles[name] = (p, calls)
        self.neural(rule, scheme, folds, y, specs, tuned, rows, ensembles)
        pairs = [(m, o) for m in cfg.compared for o in rule.kind.compared_with if o != m]
        cis = {}
        for model, other in [*pairs, *self.pairs]:
            if model in ensembles and other in ensembles:
                pair = f"{model} - {other}"
                cis[pair] = compare(y, ensembles[model], ensembles[other], cfg)
                for metric, ci in cis[pair].items():
                    self.comparisons[f"{rule.name} {scheme} {pair} {metric}"] = ci
        return {
            "models": rows,
            "bootstrap": cis,
            "n_days": int(len(y)),
            "share_positive": float(np.mean(y)),
            "thresholds": [f.threshold for f in folds],
        }

    def neural(
        self,
        rule: Target,
        scheme: str,
        folds: list[Fold],
        y: np.ndarray,
        specs: Mapping[str, NeuralSpec],
        tuned: Mapping[str, Any],
        rows: dict[str, Any],
        ensembles: dict[str, tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """The neural models of `scheme` (per-seed and seed-ensemble figures) into `rows`
        and their ensembles into `ensembles`; a model whose fits equal an earlier one's (KDTCN
        and its chosen variant) repeats its row."""
        cfg = self.cfg
        seeds = cfg.seeds if scheme == "fixed_origin" else cfg.rolling_seeds
        fitted_as: dict[tuple[Any, ...], str] = {}
        folds_key = labels_key(folds)
        for name in cfg.models:
            spec = specs[name]
            if scheme != "fixed_origin" and name not in cfg.rolling_models:
                continue
            if spec.encoder != "tcn" and rule.name not in cfg.tutorial_targets:
                continue
            if not self.runnable(spec):
                continue
            same = fitted_as.setdefault((spec.fit_key, spec.tuned_from), name)
            if same != name:  # KDTCN's chosen variant: the same fits, not run twice
                rows[name] = {**rows[same], "same_as": same}
                ensembles[name] = ensembles[same]
                for seed in seeds:
                    self.say(f"{rule.name} {scheme} {name} seed {seed} (= {same})")
                continue
            source = tuned.get(spec.tuned_from or "")
            runs = []
            for seed in seeds:
                runs.append(self.fits(rule, scheme, folds, folds_key, spec, source, seed))
                self.say(f"{rule.name} {scheme} {name} seed {seed}")
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
                **summarise(per_seed, (p, calls), y, self.subsets, cuts),
            }
            ensembles[name] = (p, calls)

    def fits(
        self,
        rule: Target,
        scheme: str,
        folds: list[Fold],
        folds_key: str,
        spec: NeuralSpec,
        source: Any,
        seed: int,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """One seed's fits of `spec` on every fold (`folds_key`: their labels_key), shared
        with an identical earlier price-only fit: (training-day, test-day) probabilities
        per fold."""
        searched = (source.net, asdict(source.train)) if source else None
        fit = (spec.fit_key, repr(searched), scheme, folds_key, seed)
        if spec.events is not None or fit not in self.shared:
            self.shared[fit] = scheme_predictions(
                spec,
                self.price_rows,
                self.events_of(spec),
                folds,
                scheme=scheme,
                cfg=self.cfg,
                rule=rule,
                seed=seed,
                net=source.net if source else None,
                train=source.train if source else None,
                history=self.history,
            )
        return self.shared[fit]  # type: ignore[no-any-return]


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


# KDTCN is compared with these on every scheme (paired moving-block bootstrap; Holm-adjusted
# over every comparison of the run): each kind's `compared_with` (models.kinds).
COMPARISONS: dict[str, tuple[str, ...]] = {
    kind.name: kind.compared_with for kind in (Direction(), BigMove())
}
