"""Hyper-parameter search with Optuna on walk-forward folds inside the training period.

The test period is never read: the folds are the last `n_folds` blocks of `fold_days`
training days, each scored by a model fitted on the training days before it (labels and
big_move's threshold refitted per fold, as in the harness). The classifiers' objective is the
mean AUC over the folds (threshold-free, so the decision cut plays no part in the choice);
next_close's (evaluation.regression.tune_next_close) is the mean Theil U against the random
walk, through the same `search`.

Searched: encoder width, TCN levels, dropout, event projection size, learning rate and
weight decay. The window stays at the harness's (serving reads the same window). A study
can live in any Optuna storage: in memory for one process, or an RDB URL (PostgreSQL) so
several machines can add trials to one study.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

import models
from evaluation.folds import EvalConfig, Fold, fit_fold, make_folds
from models.fitting import predict_days
from models.metrics import fast_auc
from models.networks import NetParams
from models.targets import Target
from models.train import TrainConfig
from models.zoo import NeuralSpec

__all__ = [
    "Selection",
    "Tuned",
    "inner_plan",
    "search",
    "select_variant",
    "study_key",
    "study_name",
    "tune",
    "validation_auc",
]


# The search's folds: the last N_FOLDS blocks of FOLD_DAYS training days.
N_FOLDS, FOLD_DAYS = 2, 126

# The validation figure each objective reports, and whether larger is better.
METRICS: dict[str, Literal["maximize", "minimize"]] = {"auc": "maximize", "theil_u": "minimize"}


@dataclass
class Tuned:
    """A search's outcome: the chosen network and training settings, their mean validation
    `metric` and the defaults' on the same folds (or a frozen protocol's, with no folds)."""

    net: NetParams
    train: TrainConfig
    best: float  # the chosen configuration's mean validation `metric`
    default: float  # the hand-set defaults' on the same folds (trial 0)
    n_trials: int
    seconds: float
    folds: list[dict[str, Any]]
    metric: str = "auc"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form a result's `tuning` records (`seconds` rounded to 0.1)."""
        return {
            "net": dataclasses.asdict(self.net),
            "lr": self.train.lr,
            "weight_decay": self.train.weight_decay,
            "metric": self.metric,
            f"best_mean_{self.metric}": self.best,
            f"default_mean_{self.metric}": self.default,
            "n_trials": self.n_trials,
            "seconds": round(self.seconds, 1),
            "folds": self.folds,
        }


def study_key(*arrays: np.ndarray | None) -> str:
    """12 hex digits of a digest of the code of the core (`models/`) and the harness
    (`evaluation/`) and the search's inputs (`arrays`): an Optuna study stored by name
    (PostgreSQL) is resumed only by a run of the same code on the same data, so trials of
    another code or data never count as this run's."""
    digest = hashlib.sha256()
    for package in (models.__path__[0], Path(__file__).parent):
        for path in sorted(Path(package).rglob("*.py")):
            digest.update(path.read_bytes())
    for array in arrays:
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:12]


def study_name(target: str, model: str, cfg: EvalConfig, *inputs: np.ndarray | None) -> str:
    """The Optuna study name of a search: target, model, the last training day, and
    `study_key` of the code, the search's inputs and the settings it depends on."""
    settings = np.asarray([cfg.window, cfg.tune_trials])
    return f"kdtcn-{target}-{model}-{cfg.train_end}-{study_key(*inputs, settings)}"


def inner_plan(
    train_days: np.ndarray, *, n_folds: int, fold_days: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(fit days, validation block)]: the last `n_folds` blocks of `fold_days` training
    days, each fitted on every training day before it."""
    blocks = [
        train_days[len(train_days) - (k + 1) * fold_days : len(train_days) - k * fold_days]
        for k in reversed(range(n_folds))
    ]
    return [(train_days[train_days < block[0]], block) for block in blocks]


def validation_auc(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    folds: list[Fold],
    *,
    window: int,
    rule: Target,
    train: TrainConfig,
    net: NetParams | None = None,
    seeds: tuple[int, ...] = (0,),
) -> float:
    """Mean over `folds` (inner folds: validation blocks inside the training period) of the
    AUC of the seed ensemble's probabilities on each validation block."""
    aucs = []
    for fold in folds:
        p = np.mean(
            [
                predict_days(
                    fit_fold(
                        spec,
                        price_rows,
                        event_rows,
                        fold,
                        window=window,
                        rule=rule,
                        train=train,
                        seed=seed,
                        net=net,
                    ),
                    fold.test,
                )
                for seed in seeds
            ],
            axis=0,
        )
        aucs.append(fast_auc(fold.labels[fold.test], p))
    return float(np.nanmean(aucs))


def search(
    score: Callable[[NetParams, TrainConfig], float],
    *,
    metric: str,
    train: TrainConfig,
    n_trials: int,
    folds: list[dict[str, Any]],
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
) -> Tuned:
    """Search `n_trials` configurations (the first is the hand-set default) with Optuna's
    seeded TPE sampler; `score(net, train config)` is the mean validation `metric` over the
    caller's folds (described by `folds` for the report)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        net = NetParams(
            hidden=trial.suggest_categorical("hidden", [16, 24, 32, 48]),
            levels=trial.suggest_int("levels", 2, 4),
            dropout=trial.suggest_float("dropout", 0.0, 0.5),
            event_proj=trial.suggest_categorical("event_proj", [8, 16, 32]),
        )
        config = dataclasses.replace(
            train,
            lr=trial.suggest_float("lr", 3e-4, 3e-3, log=True),
            weight_decay=trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        )
        return score(net, config)

    started = time.perf_counter()
    study = optuna.create_study(
        direction=METRICS[metric],
        sampler=optuna.samplers.TPESampler(seed=seed),
        storage=storage,
        study_name=study_name,
        load_if_exists=storage is not None,
    )
    default = NetParams()
    study.enqueue_trial(
        {**dataclasses.asdict(default), "lr": train.lr, "weight_decay": train.weight_decay}
    )
    study.optimize(objective, n_trials=n_trials)
    best = study.best_params
    first = min(study.trials, key=lambda t: t.number)
    return Tuned(
        net=NetParams(
            hidden=best["hidden"],
            levels=best["levels"],
            dropout=best["dropout"],
            event_proj=best["event_proj"],
        ),
        train=dataclasses.replace(train, lr=best["lr"], weight_decay=best["weight_decay"]),
        best=float(study.best_value),
        default=float(first.value) if first.value is not None else float("nan"),
        n_trials=len(study.trials),
        seconds=time.perf_counter() - started,
        folds=folds,
        metric=metric,
    )


def tune(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    close: np.ndarray,
    train_days: np.ndarray,
    *,
    rule: Target,
    window: int,
    train: TrainConfig,
    n_trials: int,
    n_folds: int = N_FOLDS,
    fold_days: int = FOLD_DAYS,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
) -> Tuned:
    """The configuration with the best mean validation AUC on `rule`'s labels (`search`)."""
    folds = make_folds(rule, close, inner_plan(train_days, n_folds=n_folds, fold_days=fold_days))

    def score(net: NetParams, config: TrainConfig) -> float:
        return validation_auc(
            spec,
            price_rows,
            event_rows,
            folds,
            window=window,
            rule=rule,
            train=config,
            net=net,
            seeds=(seed,),
        )

    return search(
        score,
        metric="auc",
        train=train,
        n_trials=n_trials,
        seed=seed,
        storage=storage,
        study_name=study_name,
        folds=[
            {
                "fit_days": int(len(f.fit)),
                "first_validation_day": int(f.test[0]),
                "validation_days": int(len(f.test)),
                "share_positive": float(np.mean(f.labels[f.test])),
            }
            for f in folds
        ],
    )


@dataclass
class Selection:
    """Which of a model's variants (its inputs and pooling; the same searched settings) has
    the best mean validation AUC on folds inside the training period."""

    chosen: str
    validation_auc: dict[str, float]  # per candidate: mean over folds of the seed ensemble's AUC
    seeds: tuple[int, ...]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form a result records (`seconds` rounded to 0.1)."""
        return {
            "chosen": self.chosen,
            "validation_auc": self.validation_auc,
            "seeds": list(self.seeds),
            "seconds": round(self.seconds, 1),
        }


def select_variant(
    candidates: dict[str, tuple[NeuralSpec, np.ndarray | None]],
    price_rows: np.ndarray,
    close: np.ndarray,
    train_days: np.ndarray,
    *,
    rule: Target,
    window: int,
    train: TrainConfig,
    net: NetParams | None = None,
    seeds: tuple[int, ...] = (0, 1),
    n_folds: int = N_FOLDS,
    fold_days: int = FOLD_DAYS,
) -> Selection:
    """The candidate ({name: (spec, its event rows)}) with the best mean validation AUC of
    its seed ensemble on the same inner folds as `tune` (ties: the first named). Every
    candidate is fitted with the same `net` and `train`, so they differ by their input and
    pooling only."""
    started = time.perf_counter()
    folds = make_folds(rule, close, inner_plan(train_days, n_folds=n_folds, fold_days=fold_days))
    scores = {
        name: validation_auc(
            spec,
            price_rows,
            events,
            folds,
            window=window,
            rule=rule,
            train=train,
            net=net,
            seeds=seeds,
        )
        for name, (spec, events) in candidates.items()
    }
    chosen = max(scores, key=lambda k: (scores[k], -list(scores).index(k)))
    return Selection(chosen, scores, tuple(seeds), time.perf_counter() - started)
