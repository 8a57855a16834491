"""Backtest figures from per-day point-in-time predictions: classification skill next to
reference rules on the same days (for next_close, price errors against the random walk and
the interval's coverage), and the returns of trading the calls.

Trading. The call for day t (up when P(up) >= the decision cut of the version that
answered) sets the position held over day t, from the close of t-1 to the close of t, so
only a target whose input is known at the close of t-1 can be traded (`next_day`;
`same_day` reads the news of day t itself and is scored as a classifier only). Two
strategies: long/short (+1 / -1) and long/flat (+1 / 0).
A change of position costs `cost_bps` basis points per unit of position changed (entering
from flat on the first day counts). Buy-and-hold is long every day, charged once to enter.
Cumulative return, annualised return and volatility, Sharpe ratio (daily returns, 252 per
year, zero risk-free rate) and maximum drawdown come from empyrical-reloaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.metrics import probability_scores, scores
from models.regression import regression_scores

__all__ = [
    "classification_figures",
    "regression_figures",
    "strategy_returns",
    "strategy_figures",
]


def classification_figures(
    y: np.ndarray, p: np.ndarray | None, calls: np.ndarray, references: dict[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """The model's scores (AUC and Brier from its probabilities, the rest from its calls;
    the hit rate is the accuracy) beside reference rules (name -> their calls) on the same
    days. Without probabilities (a regressor's implied calls), scores of the calls only."""
    y = np.asarray(y, dtype=np.int64)
    calls = np.asarray(calls, dtype=np.int64)
    out = {"model": scores(y, calls) if p is None else probability_scores(y, p, calls=calls)}
    for name, ref in references.items():
        out[name] = scores(y, np.asarray(ref, dtype=np.int64))
    for row in out.values():
        row["hit_rate"] = row["accuracy"]
    return out


def regression_figures(
    close_prev: np.ndarray,
    close_true: np.ndarray,
    close_pred: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> dict[str, float]:
    """Price scores of predicted closes (models.regression: RMSE, MAE, MAPE, Theil's U
    against the random walk, direction accuracy of the implied move) and the share of days
    whose close fell inside the prediction interval [low, high]."""
    true = np.asarray(close_true, float)
    inside = (true >= np.asarray(low, float)) & (true <= np.asarray(high, float))
    return {
        **regression_scores(close_prev, true, close_pred),
        "interval_coverage": float(np.mean(inside)),
    }


def strategy_returns(
    calls: np.ndarray, returns: np.ndarray, *, cost_bps: float
) -> dict[str, np.ndarray]:
    """Daily net returns and positions of long/short, long/flat and buy-and-hold."""
    calls = np.asarray(calls, dtype=np.float64)
    returns = np.asarray(returns, dtype=np.float64)
    cost = cost_bps / 1e4
    out: dict[str, np.ndarray] = {}
    positions = {
        "long_short": 2 * calls - 1,
        "long_flat": calls,
        "buy_and_hold": np.ones_like(calls),
    }
    for name, pos in positions.items():
        changes = np.abs(np.diff(np.r_[0.0, pos]))
        out[name] = pos * returns - cost * changes
        out[f"{name}_position"] = pos
    return out


def strategy_figures(dates: list[Any], net: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Cumulative and annualised return, volatility, Sharpe ratio, maximum drawdown and
    turnover (mean absolute change of position per day) of each strategy."""
    import empyrical as ep

    index = pd.DatetimeIndex(pd.to_datetime([str(d) for d in dates]))
    out = {}
    for name in ("long_short", "long_flat", "buy_and_hold"):
        series = pd.Series(net[name], index=index)
        pos = net[f"{name}_position"]
        out[name] = {
            "cumulative_return": float(ep.cum_returns_final(series)),
            "annual_return": float(ep.annual_return(series)),
            "annual_volatility": float(ep.annual_volatility(series)),
            "sharpe": float(ep.sharpe_ratio(series)),
            "max_drawdown": float(ep.max_drawdown(series)),
            "turnover": float(np.mean(np.abs(np.diff(np.r_[0.0, pos])))),
            "days_long": int(np.sum(pos > 0)),
            "days_short": int(np.sum(pos < 0)),
        }
    return out
