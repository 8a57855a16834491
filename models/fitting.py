"""The one fitting step of served versions and of the evaluation harness.

`fit_window_model` normalises a model's inputs on the fitting rows only, cuts them into
windows and fits a classifier (or a regressor of per-day values); `predict_days` scores days
with it. app.services.training and evaluation.harness both call it, so a served version and
the harness's rolling origin fit the same model for the same data, cut and seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from torch import nn

from models.features import Normaliser
from models.inputs import set_normaliser
from models.networks import NetParams, SequenceClassifier
from models.targets import Target
from models.train import (
    History,
    M,
    TrainConfig,
    fit_classifier,
    predict_outputs,
    predict_proba,
    seed_everything,
)
from models.windows import Windows, WindowStack, make_windows
from models.zoo import NeuralSpec

__all__ = [
    "Fitted",
    "PriceHistory",
    "fit_regressor",
    "fit_window_model",
    "normalised_windows",
    "predict_days",
    "predict_windows",
    "standardised_targets",
]


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
    rule: Target,
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
    return pn, en, make_windows(p, e, labels, window=window, rule=rule, denoise=denoise)


def fit_window_model(
    spec: NeuralSpec,
    price_rows: np.ndarray,
    event_rows: np.ndarray | None,
    up: np.ndarray,
    fit_mask_rows: np.ndarray,
    train_days: np.ndarray,
    *,
    window: int,
    rule: Target,
    train: TrainConfig,
    seed: int,
    denoise: bool = False,
    net: NetParams | None = None,
    pretrain: tuple[PriceHistory, np.ndarray] | None = None,
    values: np.ndarray | None = None,
    prepared: tuple[Normaliser | None, Normaliser | None, Windows] | None = None,
) -> Fitted:
    """Normalise on the fitting rows, fit on the windows predicting `train_days`.

    The one fitting step of the evaluation harness and of the served versions
    (app.services.training), so both give the same model for the same data, cut and seed.
    `pretrain`: (the history, its labels under this fit's target and threshold), used when
    `spec.pretrain`; its rows are normalised with this fit's price normaliser.
    `values`: fit a regressor of these per-day values (standardised on `train_days`, MSE)
    instead of a classifier of `up`; `up` then only says which days have a window.
    `prepared`: what `normalised_windows` gives for these same arguments, when several seeds
    are fitted on one version's data (it does not depend on the seed; it is the costly part
    of a model with event sets).
    """
    if prepared is None:
        prepared = normalised_windows(
            spec,
            price_rows,
            event_rows,
            up,
            fit_mask_rows,
            window=window,
            rule=rule,
            denoise=denoise,
        )
    pn, en, windows = prepared
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
        model = _pretrain(model, pretrain, pn, en, event_rows, window, rule, train, seed)
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
    rule: Target,
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
    windows = make_windows(p, e, labels, window=window, rule=rule)
    config = dataclasses.replace(train, epochs=history.epochs, batch_size=history.batch_size)
    model, _ = fit_classifier(model, windows, config=config, seed=seed)
    return model


def predict_windows(fitted: Fitted, x: np.ndarray | WindowStack) -> np.ndarray:
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


def fit_regressor(model: M, train: Windows, *, config: TrainConfig, seed: int) -> tuple[M, History]:
    """Fit `model` (one scalar per window) to the float targets `train.y` with MSE: the
    training loop (models.train.fit_classifier) with another loss."""
    return fit_classifier(model, train, config=config, seed=seed, loss_fn=nn.MSELoss())
