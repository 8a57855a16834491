"""A fold's fit reads nothing from its first test day on: scramble prices, labels and events
from that day, and everything fitted for the fold stays bit-identical."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.folds import fit_fold, make_folds
from evaluation.tune import select_variant
from models.features import price_features
from models.fitting import predict_days
from models.inputs import EVENT_SLOTS, stack_events
from models.metrics import decision_cut
from models.targets import get_target
from models.train import TrainConfig
from models.zoo import NEURAL_MODELS

N, DIM, FIRST_TEST = 420, 6, 330


def _world(seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, N)))
    open_ = close * np.exp(rng.normal(0, 0.003, N))
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.004,
            "low": np.minimum(open_, close) * 0.996,
            "close": close,
            "adj_close": close,
            "volume": rng.integers(1_000, 5_000, N).astype(float),
        },
        index=pd.bdate_range("2010-01-04", periods=N, name="date"),
    )
    events = rng.normal(size=(N, DIM)).astype(np.float32)
    sets = np.stack(
        [
            stack_events(rng.normal(size=(k, DIM)), np.arange(1, k + 1), EVENT_SLOTS)
            for k in rng.integers(0, 40, N)
        ]
    )
    return bars, events, sets


def _scrambled(
    bars: pd.DataFrame, events: np.ndarray, sets: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every bar, event and event set from the first test day on replaced (so every label
    of those days changes too); nothing before it touched."""
    other_bars, other_events, other_sets = _world(99)
    bars = bars.copy()
    scale = bars["close"].iloc[FIRST_TEST - 1] / other_bars["close"].iloc[FIRST_TEST - 1]
    for column in ("open", "high", "low", "close", "adj_close"):
        bars.iloc[FIRST_TEST:, bars.columns.get_loc(column)] = (
            other_bars[column].iloc[FIRST_TEST:].to_numpy() * scale * 1.3
        )
    bars.iloc[FIRST_TEST:, bars.columns.get_loc("volume")] = 7.0
    events, sets = events.copy(), sets.copy()
    events[FIRST_TEST:] = other_events[FIRST_TEST:] * 5
    sets[FIRST_TEST:] = other_sets[FIRST_TEST:]
    return bars, events, sets


def _fit(
    target: str, model: str, bars: pd.DataFrame, events: np.ndarray, sets: np.ndarray
) -> dict[str, object]:
    rule = get_target(target)
    close = bars["adj_close"].to_numpy(float)
    rows = price_features(bars).to_numpy(np.float32)
    days = np.arange(11, N)
    fold = make_folds(rule, close, [(days[days < FIRST_TEST], days[days >= FIRST_TEST])])[0]
    spec = NEURAL_MODELS[model]
    event_rows = None if spec.events is None else (sets if spec.event_slots else events)
    fitted = fit_fold(
        spec,
        rows,
        event_rows,
        fold,
        window=10,
        rule=rule,
        train=TrainConfig(epochs=3, patience=2, batch_size=32),
        seed=0,
    )
    p_fit = predict_days(fitted, fold.fit)
    return {
        "price_norm": (fitted.price_norm.mean, fitted.price_norm.std)
        if fitted.price_norm
        else None,
        "event_norm": (fitted.event_norm.mean, fitted.event_norm.std)
        if fitted.event_norm
        else None,
        "threshold": fold.threshold,
        "train_labels": fold.labels[fold.fit],
        "p_fit": p_fit,
        "cut": decision_cut(p_fit, fold.labels[fold.fit]),
        "test_labels": fold.labels[fold.test],
        "p_test": predict_days(fitted, fold.test),
    }


def _same(a: object, b: object) -> bool:
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)  # type: ignore[arg-type]
    return a == b


@pytest.mark.parametrize(
    ("target", "model"),
    [
        ("next_day", "TCN"),
        ("same_day", "KDTCN"),
        ("big_move", "KDTCN"),
        ("big_move", "KDTCN (attention)"),
    ],
)
def test_scrambling_from_the_first_test_day_leaves_the_fit_bit_identical(
    target: str, model: str
) -> None:
    torch.set_num_threads(1)
    bars, events, sets = _world(0)
    before = _fit(target, model, bars, events, sets)
    after = _fit(target, model, *_scrambled(bars, events, sets))
    for key in ("price_norm", "event_norm", "threshold", "train_labels", "p_fit", "cut"):
        assert _same(before[key], after[key]), key
    # ...and the scrambling did reach what the fold is scored on: the test is not vacuous
    assert not np.array_equal(before["test_labels"], after["test_labels"])
    assert not np.allclose(before["p_test"], after["p_test"])


def test_the_variant_chosen_on_training_folds_ignores_the_days_after_them() -> None:
    torch.set_num_threads(1)
    bars, events, sets = _world(0)
    days = np.arange(11, N)

    def choose(bars: pd.DataFrame, events: np.ndarray, sets: np.ndarray) -> dict[str, object]:
        candidates = {
            name: (NEURAL_MODELS[name], sets if NEURAL_MODELS[name].event_slots else events)
            for name in ("KDTCN (1/rank mean)", "KDTCN (attention)")
        }
        chosen = select_variant(
            candidates,
            price_features(bars).to_numpy(np.float32),
            bars["adj_close"].to_numpy(float),
            days[days < FIRST_TEST],
            rule=get_target("big_move"),
            window=10,
            train=TrainConfig(epochs=2, patience=1, batch_size=32),
            seeds=(0,),
            fold_days=60,
        ).to_dict()
        return {k: v for k, v in chosen.items() if k != "seconds"}

    assert choose(bars, events, sets) == choose(*_scrambled(bars, events, sets))
