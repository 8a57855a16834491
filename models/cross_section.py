"""The cross-section a quant reads of scores across stocks: each day's Spearman rank IC of
the scores against the next returns, with a date-resampled interval, and a long-short
portfolio of the top and bottom fifth net of costs. The StockNet evaluation
(evaluation.stocknet_stats) and the backtest of a universe's served answers
(app.services.universe_backtest) both compute it here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

__all__ = ["BOOTSTRAP", "COST_BPS", "QUANTILE", "cross_section", "date_rows"]

BOOTSTRAP = 1000
COST_BPS = 5.0  # per unit of one-way turnover, as `kdtcn backtest` charges by default
QUANTILE = 0.2  # long the top fifth of a day's scores, short the bottom fifth


def date_rows(dates: list[dt.date]) -> list[np.ndarray]:
    """Row indices of each distinct date, in date order."""
    unique = sorted(set(dates))
    where = {d: k for k, d in enumerate(unique)}
    rows_of: list[list[int]] = [[] for _ in unique]
    for j, d in enumerate(dates):
        rows_of[where[d]].append(j)
    return [np.array(r, dtype=np.int64) for r in rows_of]


def cross_section(
    dates: list[dt.date],
    symbols: list[str],
    scores: np.ndarray,
    moves: np.ndarray,
    seed: int,
    *,
    cost_bps: float = COST_BPS,
) -> dict[str, Any]:
    """What a quant reads of a score across stocks: each test day's Spearman rank IC of the
    scores against that day's returns (days with at least 5 stocks), its mean with a
    date-resampled interval, and a long-short portfolio of the top and bottom fifth (equal
    weights, rebalanced daily, `cost_bps` per unit of turnover): mean daily return, annualised
    return and Sharpe ratio, net of costs."""
    from arch.bootstrap import IIDBootstrap
    from scipy.stats import spearmanr

    ics, net, gross = [], [], []
    prev: dict[str, float] = {}
    for rows in date_rows(dates):
        if len(rows) < 5:
            continue
        s, m = scores[rows], moves[rows]
        if np.ptp(s) > 0:
            ics.append(float(np.asarray(spearmanr(s, m).statistic)))
        order = np.argsort(s, kind="stable")
        n = max(1, int(len(rows) * QUANTILE))
        short, long = rows[order[:n]], rows[order[-n:]]
        weights = {symbols[j]: -1.0 / n for j in short}
        weights.update({symbols[j]: 1.0 / n for j in long})
        ret = float(moves[long].mean() - moves[short].mean())
        turnover = sum(
            abs(weights.get(k, 0.0) - prev.get(k, 0.0)) for k in set(weights) | set(prev)
        )
        gross.append(ret)
        net.append(ret - turnover * cost_bps / 1e4)
        prev = weights
    if not ics:
        return {"days": 0}
    ic = np.array(ics)
    lo, hi = IIDBootstrap(ic, seed=seed).conf_int(np.mean, reps=BOOTSTRAP, method="percentile")[
        :, 0
    ]
    r = np.array(net)
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    return {
        "days": len(ics),
        "rank_ic": float(ic.mean()),
        "rank_ic_interval": [float(lo), float(hi)],
        "long_short_daily_net": float(r.mean()),
        "long_short_daily_gross": float(np.mean(gross)),
        "long_short_annual_net": float(r.mean() * 252),
        "long_short_sharpe_net": float(r.mean() / sd * np.sqrt(252)) if sd > 0 else None,
    }
