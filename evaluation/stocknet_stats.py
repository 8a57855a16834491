"""The StockNet evaluation's statistics: date-resampled intervals of each model's scores and
of paired differences (Holm over COMPARISONS), and the cross-section a quant reads (daily
rank IC, a top/bottom-fifth long-short net of costs). Every bootstrap resamples test dates,
every stock of a drawn date together."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from models.cross_section import BOOTSTRAP, COST_BPS, QUANTILE, cross_section
from models.cross_section import date_rows as _date_rows
from models.metrics import fast_mcc

__all__ = ["BOOTSTRAP", "COMPARISONS", "COST_BPS", "QUANTILE", "intervals", "cross_section"]

# Paired comparisons of MCC (first minus second), with date-resampled intervals and Holm.
COMPARISONS = (
    ("KDTCN", "TCN + text (LSA, no graph)"),
    ("KDTCN + related stocks", "KDTCN"),
    ("KDTCN", "TCN, prices"),
    ("KDTCN", "TF-IDF logistic regression, news"),
)


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
