"""The StockNet evaluation's statistics: date-resampled intervals of each model's scores and
of paired differences (Holm over COMPARISONS), and the cross-section a quant reads (daily
rank IC, a top/bottom-fifth long-short net of costs). Every bootstrap resamples test dates,
every stock of a drawn date together."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from models.metrics import fast_mcc

__all__ = ["BOOTSTRAP", "COMPARISONS", "COST_BPS", "QUANTILE", "intervals", "cross_section"]

BOOTSTRAP = 1000

# Paired comparisons of MCC (first minus second), with date-resampled intervals and Holm.
COMPARISONS = (
    ("KDTCN", "TCN + text (LSA, no graph)"),
    ("KDTCN + related stocks", "KDTCN"),
    ("KDTCN", "TCN, prices"),
    ("KDTCN", "TF-IDF logistic regression, news"),
)


def _date_rows(dates: list[dt.date]) -> list[np.ndarray]:
    """Row indices of each distinct date, in date order."""
    unique = sorted(set(dates))
    where = {d: k for k, d in enumerate(unique)}
    rows_of: list[list[int]] = [[] for _ in unique]
    for j, d in enumerate(dates):
        rows_of[where[d]].append(j)
    return [np.array(r, dtype=np.int64) for r in rows_of]


def intervals(
    dates: list[dt.date], y: np.ndarray, calls: dict[str, np.ndarray], seed: int
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, Any]]]:
    """95% percentile intervals of accuracy and MCC per model, and of the MCC differences of
    COMPARISONS (with a two-sided bootstrap p and Holm's adjustment), resampling test dates
    (all stocks of a date together) BOOTSTRAP times."""
    from arch.bootstrap import IIDBootstrap
    from statsmodels.stats.multitest import multipletests

    rows_of = _date_rows(dates)
    draws: dict[str, dict[str, list[float]]] = {m: {"accuracy": [], "mcc": []} for m in calls}
    pairs = [(a, b) for a, b in COMPARISONS if a in calls and b in calls]
    diffs: dict[tuple[str, str], list[float]] = {p: [] for p in pairs}
    for pos, _ in IIDBootstrap(np.arange(len(rows_of)), seed=seed).bootstrap(BOOTSTRAP):
        idx = np.concatenate([rows_of[k] for k in pos[0]])
        mcc = {}
        for name, c in calls.items():
            draws[name]["accuracy"].append(float(np.mean(c[idx] == y[idx])))
            mcc[name] = fast_mcc(y[idx], c[idx])
            draws[name]["mcc"].append(mcc[name])
        for a, b in pairs:
            diffs[(a, b)].append(mcc[a] - mcc[b])
    spread = {
        name: {k: [float(v) for v in np.percentile(vals, [2.5, 97.5])] for k, vals in m.items()}
        for name, m in draws.items()
    }
    compared: dict[str, dict[str, Any]] = {}
    if pairs:
        raw_p: list[float] = []
        for pair in pairs:
            d = np.array(diffs[pair])
            tail = min(float(np.mean(d <= 0)), float(np.mean(d >= 0)))
            raw_p.append(min(1.0, 2.0 * tail + 1.0 / len(d)))
        holm = multipletests(raw_p, method="holm")[1]
        for (a, b), p, h in zip(pairs, raw_p, holm, strict=True):
            d = np.array(diffs[(a, b)])
            compared[f"{a} - {b}"] = {
                "mcc_difference": float(fast_mcc(y, calls[a]) - fast_mcc(y, calls[b])),
                "interval": [float(v) for v in np.percentile(d, [2.5, 97.5])],
                "p": float(p),
                "p_holm": float(h),
            }
    return spread, compared


COST_BPS = 5.0  # per unit of one-way turnover, as `kdtcn backtest` charges by default
QUANTILE = 0.2  # long the top fifth of a day's scores, short the bottom fifth


def cross_section(
    dates: list[dt.date], symbols: list[str], scores: np.ndarray, moves: np.ndarray, seed: int
) -> dict[str, Any]:
    """What a quant reads of a score across stocks: each test day's Spearman rank IC of the
    scores against that day's returns (days with at least 5 stocks), its mean with a
    date-resampled interval, and a long-short portfolio of the top and bottom fifth (equal
    weights, rebalanced daily, COST_BPS per unit of turnover): mean daily return, annualised
    return and Sharpe ratio, net of costs."""
    from arch.bootstrap import IIDBootstrap
    from scipy.stats import spearmanr

    ics, net, gross = [], [], []
    prev: dict[str, float] = {}
    for rows in _date_rows(dates):
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
        net.append(ret - turnover * COST_BPS / 1e4)
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
