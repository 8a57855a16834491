"""Pre-training on the price history before the news, and side-by-side inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from evaluation.folds import combined_inputs, fit_fold, make_folds
from models.features import price_features
from models.fitting import PriceHistory, predict_days
from models.targets import get_target
from models.train import TrainConfig
from models.zoo import NEURAL_MODELS


def _bars(n: int, seed: int, start: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    frame = pd.DataFrame(
        {
            "open": close * (1 + rng.normal(0, 0.002, n)),
            "close": close,
            "adj_close": close,
            "volume": rng.integers(1e6, 2e6, n).astype(float),
        },
        index=pd.date_range(start, periods=n, freq="B"),
    )
    frame["high"] = frame[["open", "close"]].max(axis=1) * 1.01
    frame["low"] = frame[["open", "close"]].min(axis=1) * 0.99
    return frame


def _setup() -> tuple[np.ndarray, np.ndarray, list, PriceHistory]:
    bars = _bars(160, 0, "2015-01-01")
    rows = price_features(bars).to_numpy(np.float32)
    close = bars["adj_close"].to_numpy(float)
    days = np.arange(11, len(bars))
    folds = make_folds(get_target("big_move"), close, [(days[:120], days[120:])])
    old = _bars(400, 1, "2013-06-03")
    history = PriceHistory(
        price_features(old).to_numpy(np.float32), old["adj_close"].to_numpy(float), "a", "b"
    )
    return rows, close, folds, history


def test_a_pretrained_model_needs_the_history_and_reads_it() -> None:
    torch.set_num_threads(1)
    rows, _, folds, history = _setup()
    train = TrainConfig(epochs=3, patience=2)
    kwargs = dict(window=10, rule=get_target("big_move"), train=train, seed=0)
    with pytest.raises(ValueError, match="history"):
        fit_fold(NEURAL_MODELS["TCN (pre-trained)"], rows, None, folds[0], **kwargs)
    plain = fit_fold(NEURAL_MODELS["TCN"], rows, None, folds[0], **kwargs)
    pretrained = fit_fold(
        NEURAL_MODELS["TCN (pre-trained)"], rows, None, folds[0], history=history, **kwargs
    )
    again = fit_fold(
        NEURAL_MODELS["TCN (pre-trained)"], rows, None, folds[0], history=history, **kwargs
    )
    test = folds[0].test
    # Same seed and fold: only the history's fit separates the two.
    assert not np.allclose(predict_days(plain, test), predict_days(pretrained, test))
    np.testing.assert_array_equal(predict_days(pretrained, test), predict_days(again, test))
    # A different history gives a different model: its rows are what pre-training read.
    shifted = PriceHistory(history.price_rows[::-1].copy(), history.close[::-1].copy(), "a", "b")
    other = fit_fold(
        NEURAL_MODELS["TCN (pre-trained)"], rows, None, folds[0], history=shifted, **kwargs
    )
    assert not np.allclose(predict_days(other, test), predict_days(pretrained, test))


def test_side_by_side_inputs_are_built_only_when_every_part_is_present() -> None:
    events = np.ones((5, 3), np.float32)
    vader = np.full((5, 4), 2.0, np.float32)
    both = combined_inputs({"kg_events": events, "vader": vader})
    assert both["kg_events+vader"].shape == (5, 7)
    np.testing.assert_array_equal(both["kg_events+vader"][:, 3:], vader)
    assert "kg_events+vader" not in combined_inputs({"kg_events": events})
    assert NEURAL_MODELS["KDTCN+VADER"].events == "kg_events+vader"


@pytest.mark.parametrize("name", ["TCN (pre-trained)", "TCN (wavelet-denoised)", "KDTCN+VADER"])
def test_evaluation_only_variants_are_not_servable(name: str) -> None:
    from app.services.training import servable

    assert servable("kdtcn") == "KDTCN"
    with pytest.raises(ValueError, match="evaluation-only"):
        servable(name)
