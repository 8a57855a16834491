"""Non-neural baselines, by name. Each gives the probability of a target's positive label
for day t from data before t.

Signature of every baseline: ``fn(data, train_days, days) -> probabilities`` where `data`
is a `BaselineData` (log returns, the labels of this fit, big_move's threshold, headline
counts), `train_days` the indices of the training days (their labels may be used) and
`days` the indices to score (training days and test days alike; only returns before each
day are read). Rules that only call (persistence, reversal) give 0 or 1; the harness
chooses every model's decision cut on its training days (models.metrics.decision_cut).

`DIRECTION_BASELINES` serve the direction targets; `models.vol_baselines` those of big_move.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

__all__ = ["BaselineData", "Baseline", "DIRECTION_BASELINES"]


@dataclass(frozen=True)
class BaselineData:
    """What a baseline may read, indexed by trading day t (see the module docstring)."""

    returns: np.ndarray  # float64 log return of trading day t; returns[0] is NaN
    labels: np.ndarray  # int64 label of day t under this fit: 1/0, -1 where undefined
    threshold: float | None  # big_move: q, the |log return| above which the label is 1
    news: np.ndarray | None  # number of headlines assigned to trading day t


Baseline = Callable[[BaselineData, np.ndarray, np.ndarray], np.ndarray]


def majority(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The share of positive labels on the training days, every day (its cut makes it the
    majority class)."""
    return np.full(len(days), float(np.mean(data.labels[train])))


def persistence(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Tomorrow moves like today: up iff the last observed return was >= 0."""
    return (data.returns[days - 1] >= 0).astype(np.float64)


def reversal(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Tomorrow moves against today."""
    return 1.0 - persistence(data, train, days)


def _lags(returns: np.ndarray, days: np.ndarray, n_lags: int = 5) -> np.ndarray:
    return np.stack([returns[days - k] for k in range(1, n_lags + 1)], axis=1)


def logistic(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Logistic regression on the 5 previous daily returns, fitted on the training days."""
    train = train[train > 5]
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(_lags(data.returns, train) * 100, data.labels[train])
    return model.predict_proba(_lags(data.returns, days) * 100)[:, 1]


def arima(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """ARIMA(1,0,1) on returns fitted on the training days; one-step forecasts with the
    parameters frozen (the state is filtered through the data up to t-1), turned into
    P(return >= 0) under the forecast's normal distribution."""
    from scipy.stats import norm
    from statsmodels.tsa.arima.model import ARIMA

    start = int(train.min())
    r = data.returns * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ARIMA(r[start : int(train.max()) + 1], order=(1, 0, 1)).fit()
        extended = fitted.apply(r[start : int(days.max()) + 1], refit=False)
    forecast = extended.get_prediction()  # one-step-ahead, uses data < t
    mean = np.asarray(forecast.predicted_mean)[days - start]
    sd = np.sqrt(np.asarray(forecast.var_pred_mean)[days - start])
    return norm.cdf(mean / sd)


DIRECTION_BASELINES: dict[str, Baseline] = {
    "Majority": majority,
    "Persistence": persistence,
    "Reversal": reversal,
    "LogReg (5 lags)": logistic,
    "ARIMA(1,0,1)": arima,
}
