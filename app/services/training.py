"""`kdtcn train`: fit model versions on stored data up to a cut, save them, record them.

A version's `train_end` is its `train_until`: the last trading day whose label it was
fitted on (the early-stopping tail included). Its embedding is built only from graph facts
and event triples of headlines dated up to a day no later than that (never a later one),
so a version never saw anything after its cut. The fitting step is the forecasting core's
(`models.fitting.fit_window_model`), which the evaluation harness calls too: for the same
data, cut and seed, a served version and `kdtcn evaluate`'s rolling origin fit the same model.

Walk-forward chains of versions (one per cut, each scored out of sample up to the next cut),
trained inline or queued as training jobs, are in app.services.walk_forward.

Hyper-parameters: those `kdtcn evaluate`'s search chose for the model and target
(`models/tuned.json`, read by models.tuned.served_params) when the search read no day after
the version's cut, else the hand-set defaults; the version's metrics say which. KDTCN's
variant (1/rank mean or attention pooling) is likewise the one `kdtcn evaluate` chose for
the target on validation folds (models.tuned.served_variant), when serving can feed it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.services.model_versions import record_version
from app.services.series import Series, load_series
from app.settings import TRAIN_THREADS
from app.tables import ModelVersion, Price
from models.artifact import SavedConfig, save_artifact
from models.features import PRICE_FEATURES
from models.fitting import Fitted, fit_window_model, normalised_windows, predict_days
from models.metrics import json_safe
from models.networks import NetParams
from models.targets import Target
from models.train import TrainConfig, split_validation
from models.tuned import TUNED_PATH, served_params, served_variant
from models.zoo import NEURAL_MODELS, SERVABLE, TUNED_FROM, NeuralSpec, model_key

__all__ = [
    "SERVED_SEEDS",
    "WINDOW",
    "Trained",
    "cut_row",
    "fit_version",
    "record_trained",
    "save_and_record",
    "save_trained",
    "servable",
    "train_and_register",
]

WINDOW = 20
SERVED_SEEDS = 3  # networks per served version: the seed ensemble that the evaluation scores
OOS_DAYS = 63  # trading days after a single cut scored as its out-of-sample figures


@dataclass
class Trained:
    """A version fitted but not yet saved: its configuration, its networks (one per seed)
    and its metrics."""

    saved: SavedConfig
    ensemble: list[Fitted]
    metrics: dict[str, Any]


def fit_version(
    *,
    series: Series,
    symbol: str,
    rule: Target,
    name: str,
    cut: int,
    score_days: np.ndarray,
    seeds: Sequence[int],
    config: TrainConfig,
) -> Trained:
    """Fit one network per seed for the target `rule` on rows up to `cut` (labels up to
    dates[cut]); the version serves their mean probability. Score `score_days`."""
    spec, variant = _variant_spec(name, rule, series.dates[cut])
    train_days = _train_days(series, symbol, cut)
    threshold = rule.fit_threshold(series.close, train_days)
    labels = rule.labels(series.close, threshold)
    net, config, hyper = served_params(TUNED_FROM.get(name), rule.name, series.dates[cut], config)
    ensemble = _fit_ensemble(
        series, spec, rule, labels, cut, train_days, seeds=seeds, net=net, config=config
    )
    decision_cut, interval, scores = _version_figures(
        series, rule, labels, ensemble, train_days, score_days, config
    )
    metrics: dict[str, Any] = {
        "hyper_parameters": {**hyper, **variant},
        "outcome": rule.outcome(threshold),
        "label_threshold": threshold,
        **scores,
    }
    metrics["early_stopping_tail"]["best_epochs"] = [f.history.best_epoch for f in ensemble]
    saved = _saved_config(
        series, spec, ensemble[0], name=name, target=rule.name, symbol=symbol, cut=cut
    )
    saved = dataclasses.replace(
        saved,
        variant=variant.get("variant"),
        decision_cut=decision_cut,
        label_threshold=threshold,
        interval=interval,
        seeds=tuple(seeds),
    )
    return Trained(saved, ensemble, json_safe(metrics))


def _train_days(series: Series, symbol: str, cut: int) -> np.ndarray:
    """The rows of the days a version fitted up to row `cut` learns (each with a full
    window); ValueError when there are fewer than 30."""
    train_days = np.arange(WINDOW + 1, cut + 1)
    if len(train_days) < 30:
        raise ValueError(
            f"{symbol} has {cut + 1} trading days up to {series.dates[cut]}; need {WINDOW + 31}"
        )
    return train_days


def _fit_ensemble(
    series: Series,
    spec: NeuralSpec,
    rule: Target,
    labels: np.ndarray,
    cut: int,
    train_days: np.ndarray,
    *,
    seeds: Sequence[int],
    net: NetParams,
    config: TrainConfig,
) -> list[Fitted]:
    """One network per seed, each fitted on the rows up to `cut` (normalisers fitted on
    those rows) and the windows predicting `train_days`."""
    fit_rows = np.zeros(len(series.dates), bool)
    fit_rows[1 : cut + 1] = True
    values = rule.kind.fit_values(series.close)
    price_rows = series.inputs.price_rows
    event_rows = series.inputs.event_rows(spec.event_slots) if spec.events else None
    # the normalisers and windows do not depend on the seed: built once for the ensemble
    prepared = normalised_windows(
        spec, price_rows, event_rows, labels, fit_rows, window=WINDOW, rule=rule
    )
    return [
        fit_window_model(
            spec,
            price_rows,
            event_rows,
            labels,
            fit_rows,
            train_days,
            window=WINDOW,
            rule=rule,
            train=config,
            seed=seed,
            net=net,
            values=values,
            prepared=prepared,
        )
        for seed in seeds
    ]


def _version_figures(
    series: Series,
    rule: Target,
    labels: np.ndarray,
    ensemble: list[Fitted],
    train_days: np.ndarray,
    score_days: np.ndarray,
    config: TrainConfig,
) -> tuple[float, dict[str, Any] | None, dict[str, Any]]:
    """The ensemble's decision cut, interval and scores (by the target's kind) on its
    training days, their early-stopping tail and `score_days`."""
    fitted = ensemble[0]  # the windows and normalisers are the same for every seed
    train_windows = fitted.windows.subset(np.isin(fitted.windows.day, train_days))
    _, tail = split_validation(train_windows, config.val_fraction)
    days = _Days(series, train_windows.day, tail.day, score_days)

    def predict(on: np.ndarray) -> np.ndarray:
        """The ensemble's answers for the days `on` (ascending)."""
        return np.mean([predict_days(f, on) for f in ensemble], axis=0)

    return rule.kind.version_figures(
        series.close,
        labels,
        {"train": days.train, "tail": days.tail, "score": days.score},
        predict,
        days.span,
        {"tail": _TAIL_NOTE, "score": _OOS_NOTE},
    )


def _saved_config(
    series: Series,
    spec: NeuralSpec,
    fitted: Fitted,
    *,
    name: str,
    target: str,
    symbol: str,
    cut: int,
) -> SavedConfig:
    """What a version fitted on `series` up to row `cut` reads, as its saved configuration
    (the decision cut, threshold, interval and seeds are set by the caller)."""
    return SavedConfig(
        name=name,
        encoder=spec.encoder,
        target=target,
        window=WINDOW,
        price_features=tuple(PRICE_FEATURES),
        price_dim=fitted.network.price_dim,
        event_dim=fitted.network.event_dim,
        highway=fitted.network.highway_steps,
        highway_form=fitted.network.highway_form,
        event_kind=spec.events,
        event_slots=spec.event_slots,
        embedding_version=series.embedding_version if spec.events else None,
        embedding_until=str(series.embedding_until) if spec.events else None,
        value_scale=fitted.value_scale,
        train_start=str(series.dates[1]),
        train_end=str(series.dates[cut]),
        symbol=symbol,
    )


def save_trained(artifacts: Path, trained: Trained) -> tuple[SavedConfig, Path]:
    """Write the version's folder (models.artifact, atomically) under a new version name;
    its configuration as recorded, and the folder. Nothing is recorded yet: a folder whose
    version is never recorded is not served (a crash between the two leaves only files)."""
    saved, ensemble = trained.saved, trained.ensemble
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")
    version = f"{saved.name.lower()}-{saved.target}-{saved.train_end}-{stamp}"
    saved = dataclasses.replace(saved, version=version)
    assert saved.symbol is not None
    fitted = ensemble[0]
    path = save_artifact(
        Path(artifacts) / "models" / saved.symbol / version,
        networks=[f.network for f in ensemble],
        config=saved,
        price_norm=fitted.price_norm,
        event_norm=fitted.event_norm,
        metrics=trained.metrics,
    )
    recorded = dataclasses.replace(saved, net=fitted.network.params, n_networks=len(ensemble))
    return recorded, path


def record_trained(
    session: Session, saved: SavedConfig, path: Path, metrics: dict[str, Any]
) -> ModelVersion:
    """Record a saved version in the versions table (in the caller's transaction)."""
    assert saved.symbol is not None and saved.train_start and saved.train_end
    assert saved.version is not None
    return record_version(
        session=session,
        name=saved.name,
        symbol=saved.symbol,
        target=saved.target,
        version=saved.version,
        artifact_path=str(path),
        embedding_version=saved.embedding_version,
        train_start=dt.date.fromisoformat(saved.train_start),
        train_end=dt.date.fromisoformat(saved.train_end),
        metrics=metrics,
        config=saved.to_dict(),
    )


def save_and_record(session: Session, artifacts: Path, trained: Trained) -> ModelVersion:
    """Save the version's folder and record it in the caller's transaction."""
    saved, path = save_trained(artifacts, trained)
    return record_trained(session, saved, path, trained.metrics)


@dataclass(frozen=True)
class _Days:
    """The days a version's figures are computed on (row indices, ascending)."""

    series: Series
    train: np.ndarray  # training days with a window
    tail: np.ndarray  # the early-stopping tail of those
    score: np.ndarray  # out of sample: after the cut (may be empty)

    def span(self, days: np.ndarray) -> dict[str, str]:
        dates = self.series.dates
        return {"from": str(dates[int(days[0])]), "to": str(dates[int(days[-1])])}


_TAIL_NOTE = "not out of sample: early stopping chose the epoch on these days"
_OOS_NOTE = "trading days after the cut, before the next version's cut"


def _variant_spec(
    name: str, rule: Target, cut: dt.date, *, path: Path = TUNED_PATH
) -> tuple[Any, dict[str, Any]]:
    """The spec a version of `name` fits: for KDTCN the variant `kdtcn evaluate` chose for
    the target `rule` on validation folds (models.tuned.served_variant) when serving can
    feed it, else the 1/rank mean; and the provenance of that choice."""
    spec = NEURAL_MODELS[name]
    if name != "KDTCN" or rule.is_regression:
        return spec, {}
    variant, why = served_variant(rule.name, cut, path=path)
    if variant is None:
        return spec, why
    if variant not in SERVABLE:
        return spec, {
            "variant_chosen": variant,
            "variant_validation_auc": why.get("variant_validation_auc"),
            "variant_not_used": f"{variant} reads inputs serving cannot feed yet; "
            "the 1/rank mean serves",
        }
    return NEURAL_MODELS[variant], why


def servable(name: str) -> str:
    """The zoo's name of a model serving can fit; ValueError naming the servable ones."""
    key = model_key(name)
    if key not in SERVABLE:
        raise ValueError(
            f"{name} is evaluation-only (an input or a fitting step serving lacks); "
            f"servable: {sorted(SERVABLE)}"
        )
    return key


def cut_row(dates: list[dt.date], day: dt.date) -> int:
    """Row of the last trading day on or before `day`."""
    row = int(np.searchsorted(np.asarray(dates, "datetime64[D]"), np.datetime64(day), "right"))
    if row == 0:
        raise ValueError(f"no trading day on or before {day}")
    return row - 1


def train_and_register(
    *,
    session: Session,
    artifacts: Path,
    graph: Any,
    symbol: str,
    rule: Target,
    name: str = "KDTCN",
    until: dt.date | None = None,
    embedding_version: str | None = None,
    seed: int = 0,
    n_seeds: int = SERVED_SEEDS,
    config: TrainConfig | None = None,
) -> ModelVersion:
    """Fit one version of the target `rule` on `symbol`'s data up to `until` (default: the
    last bar), an ensemble of `n_seeds` networks (seeds seed, seed+1, ...).

    Its embedding is built from data up to `until` (or the named one, checked). When days
    after `until` are stored, up to OOS_DAYS of them are scored as out-of-sample figures.
    """
    name = servable(name)
    torch.set_num_threads(TRAIN_THREADS)
    last_bar = session.scalar(select(func.max(Price.date)).where(Price.symbol == symbol))
    if last_bar is None:
        raise ValueError(f"no prices stored for {symbol}")
    cut_day = min(until or last_bar, last_bar)
    series = load_series(
        session=session,
        artifacts=artifacts,
        graph=graph,
        symbol=symbol,
        events=NEURAL_MODELS[name].events is not None,
        embedding_until=cut_day,
        embedding_version=embedding_version,
    )
    cut = cut_row(series.dates, cut_day)
    score_days = np.arange(cut + 1, min(cut + 1 + OOS_DAYS, len(series.dates)))
    trained = fit_version(
        series=series,
        symbol=symbol,
        rule=rule,
        name=name,
        cut=cut,
        score_days=score_days,
        seeds=range(seed, seed + n_seeds),
        config=config or TrainConfig(),
    )
    return save_and_record(session, artifacts, trained)
