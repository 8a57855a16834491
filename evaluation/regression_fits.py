"""next_close's network fits on folds (the protocol is evaluation.regression's docstring): a
fold's windows with the log return standardised on the fold's training days, a fresh network
fitted and predicting the test block, per seed the test days' predicted log returns (on
next_day's windows, and in the seed tutorials' min-max-level framing), and the
hyper-parameter search on folds of the training days (`tune_next_close`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.tune import Tuned, inner_plan, search
from models.features import Normaliser
from models.fitting import fit_regressor, fit_window_model, normalised_windows, predict_days
from models.kinds import implied_close
from models.networks import NetParams, SequenceClassifier
from models.regression import minmax_windows, regression_scores
from models.targets import NEXT_CLOSE
from models.train import TrainConfig, predict_outputs, seed_everything
from models.windows import Windows
from models.zoo import NeuralSpec

__all__ = [
    "FoldData",
    "fold_windows",
    "fit_level",
    "network_returns",
    "level_returns",
    "tune_next_close",
]

Plan = Sequence[tuple[np.ndarray, np.ndarray]]  # (fit days, test block) per fold


@dataclass
class FoldData:
    """A fold of next_close for one input set, as the one fitting step (models.fitting
    .fit_window_model) reads it: the inputs normalised on the rows observable before the
    test block and cut into next_day's windows (`prepared`), the fit days whose values a
    network regresses, and the test block."""

    price_rows: np.ndarray
    event_rows: np.ndarray | None
    up: np.ndarray
    values: np.ndarray
    fit_rows: np.ndarray
    fit_days: np.ndarray
    block: np.ndarray
    prepared: tuple[Normaliser | None, Normaliser | None, Windows]
    window: int
    denoise: bool

    def predict(
        self,
        spec: NeuralSpec,
        *,
        config: TrainConfig,
        seed: int,
        net: NetParams | None = None,
        epochs: list[int] | None = None,
    ) -> np.ndarray:
        """Fit a fresh `spec` network on the fit days' standardised values (fit_window_model
        with `values`); the test block's predicted log returns, in day order."""
        fitted = fit_window_model(
            spec,
            self.price_rows,
            self.event_rows,
            self.up,
            self.fit_rows,
            self.fit_days,
            window=self.window,
            rule=NEXT_CLOSE,
            train=config,
            seed=seed,
            denoise=self.denoise,
            net=net,
            values=self.values,
            prepared=self.prepared,
        )
        if epochs is not None:
            epochs.append(len(fitted.history.val_loss))
        return predict_days(fitted, np.sort(self.block))


def fold_windows(
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
) -> FoldData:
    """A fold's data: normalise on the rows observable before the block (as evaluation.folds
    .fit_fold) and cut next_day's windows (labels `up` only select which windows exist), once
    for every seed and configuration fitted on it."""
    fit_rows = np.zeros(len(up), bool)
    fit_rows[1 : int(block[0])] = True
    prepared = normalised_windows(
        spec,
        price_rows,
        event_rows,
        up,
        fit_rows,
        window=window,
        rule=NEXT_CLOSE,
        denoise=denoise,
    )
    return FoldData(
        price_rows, event_rows, up, values, fit_rows, fit_days, block, prepared, window, denoise
    )


def fit_level(
    encoder: str,
    train: Windows,
    test_x: np.ndarray,
    *,
    config: TrainConfig,
    seed: int,
    epochs: list[int],
) -> np.ndarray:
    """The tutorials' framing: fit a fresh network on min-max scaled closes (one input
    column, no linear path), predict `test_x`; appends the epochs run to `epochs`."""
    seed_everything(seed)  # the initial weights, too, come from the seed
    model = SequenceClassifier(encoder=encoder, price_dim=1, event_dim=0, params=None, highway=0)
    model, history = fit_regressor(model, train, config=config, seed=seed)
    epochs.append(len(history.val_loss))
    return predict_outputs(model, test_x).astype(np.float64)


def network_returns(
    spec: NeuralSpec,
    folds: Sequence[FoldData],
    seeds: Sequence[int],
    *,
    config: TrainConfig,
    net: NetParams | None,
) -> tuple[list[np.ndarray], list[int]]:
    """Per seed, a fresh `spec` network fitted on each fold in turn: the test days' predicted
    log returns (the folds' blocks concatenated), and the epochs run by every fit in order."""
    runs: list[np.ndarray] = []
    epochs: list[int] = []
    for seed in seeds:
        parts = []
        for fold in folds:
            parts.append(fold.predict(spec, config=config, seed=seed, net=net, epochs=epochs))
        runs.append(np.concatenate(parts))
    return runs, epochs


def level_returns(
    spec: NeuralSpec,
    close: np.ndarray,
    plan: Plan,
    seeds: Sequence[int],
    *,
    config: TrainConfig,
    window: int,
) -> tuple[list[np.ndarray], list[int]]:
    """The seed tutorials' framing: per seed, `spec` fitted on each fold in turn to regress
    the next close min-max scaled on the last `window` closes (scaler fitted on the rows
    before the block): the test days' implied log returns, and the epochs of every fit."""
    runs: list[np.ndarray] = []
    epochs: list[int] = []
    for seed in seeds:
        parts = []
        for fit, block in plan:
            parts.append(
                _level_block(
                    spec, close, fit, block, config=config, window=window, seed=seed, epochs=epochs
                )
            )
        runs.append(np.concatenate(parts))
    return runs, epochs


def _level_block(
    spec: NeuralSpec,
    close: np.ndarray,
    fit: np.ndarray,
    block: np.ndarray,
    *,
    config: TrainConfig,
    window: int,
    seed: int,
    epochs: list[int],
) -> np.ndarray:
    """One fold of `level_returns`: a fresh network on the min-max windows of the `fit` days,
    the block's predicted scaled closes turned into log returns against the previous close."""
    fit_rows = np.zeros(len(close), bool)
    fit_rows[1 : int(block[0])] = True
    train = minmax_windows(close, fit_rows, fit, window=window)
    test = minmax_windows(close, fit_rows, block, window=window)
    if not np.array_equal(test.day, block):
        raise AssertionError("level windows misaligned")
    scaled = fit_level(
        spec.encoder,
        Windows(train.x, train.y.astype(np.float32), train.day - 1),
        test.x,
        config=config,
        seed=seed,
        epochs=epochs,
    )
    return np.log(test.inverse(scaled) / close[block - 1])


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
        fold_windows(
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
