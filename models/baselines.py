"""Non-neural baselines, by name. Each predicts the direction of day t from data before t.

Signature of every baseline: ``fn(returns, up, train_days, test_days) -> predictions`` where
`returns[t]` is the log return of day t, `up[t]` its label, `train_days` the indices of the
training days (their labels may be used) and `test_days` the indices to predict (only
returns before each test day are used).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression

__all__ = ["BASELINES", "Baseline"]

Baseline = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def majority(
    returns: np.ndarray, up: np.ndarray, train: np.ndarray, test: np.ndarray
) -> np.ndarray:
    """The most frequent label of the training days, every day."""
    return np.full(len(test), int(up[train].mean() >= 0.5), dtype=np.int64)


def persistence(
    returns: np.ndarray, up: np.ndarray, train: np.ndarray, test: np.ndarray
) -> np.ndarray:
    """Tomorrow moves like today: up iff the last observed return was >= 0."""
    return (returns[test - 1] >= 0).astype(np.int64)


def reversal(
    returns: np.ndarray, up: np.ndarray, train: np.ndarray, test: np.ndarray
) -> np.ndarray:
    """Tomorrow moves against today."""
    return 1 - persistence(returns, up, train, test)


def _lags(returns: np.ndarray, days: np.ndarray, n_lags: int = 5) -> np.ndarray:
    return np.stack([returns[days - k] for k in range(1, n_lags + 1)], axis=1)


def logistic(
    returns: np.ndarray, up: np.ndarray, train: np.ndarray, test: np.ndarray
) -> np.ndarray:
    """Logistic regression on the 5 previous daily returns, fitted on the training days."""
    train = train[train > 5]
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(_lags(returns, train) * 100, up[train])
    return model.predict(_lags(returns, test) * 100).astype(np.int64)


def arima(returns: np.ndarray, up: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """ARIMA(1,0,1) on returns fitted on the training days; one-step forecasts for test days
    with the parameters frozen (the state is filtered through the data up to t-1)."""
    from statsmodels.tsa.arima.model import ARIMA

    start = int(train.min())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ARIMA(returns[start : int(train.max()) + 1] * 100, order=(1, 0, 1)).fit()
        extended = fitted.apply(returns[start : int(test.max()) + 1] * 100, refit=False)
    forecast = extended.get_prediction().predicted_mean  # one-step-ahead, uses data < t
    return (np.asarray(forecast)[test - start] >= 0).astype(np.int64)


BASELINES: dict[str, Baseline] = {
    "Majority": majority,
    "Persistence": persistence,
    "Reversal": reversal,
    "LogReg (5 lags)": logistic,
    "ARIMA(1,0,1)": arima,
}
