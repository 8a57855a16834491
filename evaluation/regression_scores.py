"""next_close's data and scores (the protocol is evaluation.regression's docstring): the series
and days a run reads, and a model's row of scores on the test days against the random walk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluation.folds import EvalConfig
from models.features import price_features
from models.kinds import implied_close
from models.regression import (
    diebold_mariano,
    lag_correlations,
    regression_scores,
    theil_u_interval,
)
from models.stats import seed_summary
from models.targets import NEXT_CLOSE

__all__ = ["RegressionData", "regression_data", "score_row"]


@dataclass(frozen=True)
class RegressionData:
    """What every step reads: the trading dates, the price-feature rows, the adjusted close,
    next_close's log returns (`values`) and next_day's labels (`up`, which only select the
    windows), the days with a full window before them (`all_days`), the training and the
    test days, and on the test days the previous close, the close and its realised change."""

    dates: pd.DatetimeIndex
    price_rows: np.ndarray
    close: np.ndarray
    values: np.ndarray
    up: np.ndarray
    all_days: np.ndarray
    train_days: np.ndarray
    test_days: np.ndarray
    close_prev: np.ndarray
    close_true: np.ndarray
    realised: np.ndarray

    def score(
        self, kind: str, variant: str, runs: Sequence[np.ndarray], n_resamples: int
    ) -> dict[str, Any]:
        """A row of the result (`score_row`) from per-seed predicted log returns of the test
        days."""
        return score_row(
            kind, variant, runs, self.close_prev, self.close_true, self.realised, n_resamples
        )


def regression_data(prices: pd.DataFrame, cfg: EvalConfig) -> RegressionData:
    """The series and days of the module docstring: `first_day = window + 1`, training days
    up to `cfg.train_end`, test days `cfg.test_start`..`cfg.test_end`; ValueError when
    either has fewer than 3 days."""
    dates = pd.DatetimeIndex(prices.index)
    price_rows = price_features(prices).to_numpy(np.float32)
    close = prices["adj_close"].to_numpy(float)
    values = NEXT_CLOSE.values(close)
    up = NEXT_CLOSE.labels(close)
    first_day = cfg.window + 1
    all_days = np.arange(first_day, len(prices))
    train_days = all_days[dates[all_days] <= pd.Timestamp(cfg.train_end)]
    test_days = all_days[
        (dates[all_days] >= pd.Timestamp(cfg.test_start))
        & (dates[all_days] <= pd.Timestamp(cfg.test_end))
    ]
    if len(test_days) < 3 or len(train_days) < 3:
        raise ValueError("run_regression needs training and test days")
    close_prev, close_true = close[test_days - 1], close[test_days]
    return RegressionData(
        dates,
        price_rows,
        close,
        values,
        up,
        all_days,
        train_days,
        test_days,
        close_prev,
        close_true,
        close_true - close_prev,
    )


def score_row(
    kind: str,
    variant: str,
    per_seed_returns: Sequence[np.ndarray],
    close_prev: np.ndarray,
    close_true: np.ndarray,
    realised_change: np.ndarray,
    n_resamples: int = 2000,
) -> dict[str, Any]:
    """A row: scores of the seed ensemble (mean predicted log return), per-seed spread of
    U / RMSE / direction accuracy, DM vs the random walk, lag correlations."""
    ensemble = np.mean(np.stack(per_seed_returns), axis=0)
    pred = implied_close(close_prev, ensemble)
    seeds = [
        regression_scores(close_prev, close_true, implied_close(close_prev, r))
        for r in per_seed_returns
    ]
    stat, p = diebold_mariano(close_true - pred, close_true - close_prev, h=1)
    ci = theil_u_interval(close_prev, close_true, pred, n_resamples=n_resamples)
    return {
        "kind": kind,
        "variant": variant,
        "n_seeds": len(per_seed_returns),
        "metrics": regression_scores(close_prev, close_true, pred),
        "per_seed": {
            k: seed_summary([s[k] for s in seeds])
            for k in ("theil_u", "rmse", "direction_accuracy")
        },
        "dm": {"stat": stat, "p_value": p},
        # U - 1 with a paired moving-block bootstrap interval (as the harness's comparisons)
        "u_interval": ci,
        # the lag: the predicted line's day-to-day change against the realised change of the
        # same day (r0) and of the day before (r1); the random walk has r0 ~ 0, r1 = 1
        "lag": lag_correlations(np.diff(pred), np.diff(close_true)),
        # skill: the implied move (predicted close - previous close) against the realised move
        # of the same day (NaN for the random walk, which predicts no move)
        "move_corr": lag_correlations(pred - close_prev, realised_change)["same_day"],
        "pred_close": pred.tolist(),
    }
