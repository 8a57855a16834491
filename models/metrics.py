"""Classification metrics, the decision cut, and the abrupt-change subsets (paired
bootstrap intervals live in models.stats)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
)

__all__ = [
    "json_safe",
    "scores",
    "probability_scores",
    "decision_cut",
    "fast_mcc",
    "fast_auc",
    "abrupt_masks",
    "METRICS",
]

METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mcc": lambda y, p: float(matthews_corrcoef(y, p)) if len(set(y)) > 1 else 0.0,
    "balanced_accuracy": lambda y, p: float(balanced_accuracy_score(y, p)),
    "accuracy": lambda y, p: float(accuracy_score(y, p)),
    "f1": lambda y, p: float(f1_score(y, p, zero_division=0.0)),
}


def json_safe(value: Any) -> Any:
    """Figures for JSON: NaN and infinities become None (JSON has no NaN; PostgreSQL's
    JSON type and Starlette's encoder reject it), recursively through dicts and lists."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MCC, balanced accuracy, accuracy, F1 of the up class, and the share predicted up."""
    if len(y) == 0:
        return {name: float("nan") for name in [*METRICS, "share_up"]}
    out = {name: fn(y, pred) for name, fn in METRICS.items()}
    out["share_up"] = float(np.mean(pred))
    return out


def probability_scores(
    y: np.ndarray, p_up: np.ndarray, *, cut: float = 0.5, calls: np.ndarray | None = None
) -> dict[str, float]:
    """`scores` of the calls (P(up) >= `cut`, or `calls` as given), plus AUC and Brier score
    of the probabilities, the number of days, and the accuracy of always calling the
    majority class of these days."""
    y = np.asarray(y)
    if calls is None:
        calls = (np.asarray(p_up) >= cut).astype(np.int64)
    out = scores(y, calls)
    two_classes = len(set(y.tolist())) > 1
    out["auc"] = float(roc_auc_score(y, p_up)) if two_classes else float("nan")
    out["brier"] = float(brier_score_loss(y, p_up)) if len(y) else float("nan")
    out["n_days"] = int(len(y))
    out["majority_accuracy"] = float(max(y.mean(), 1 - y.mean())) if len(y) else float("nan")
    return out


def fast_mcc(y: np.ndarray, calls: np.ndarray) -> float:
    """MCC from the confusion counts (0 when a row or column is empty, as scikit-learn).

    Written out because the bootstrap computes it hundreds of thousands of times and
    scikit-learn's input checks cost about a millisecond a call; a test checks it equals
    `sklearn.metrics.matthews_corrcoef`."""
    y = np.asarray(y, dtype=bool)
    c = np.asarray(calls, dtype=bool)
    tp = float(np.sum(y & c))
    tn = float(np.sum(~y & ~c))
    fp = float(np.sum(~y & c))
    fn = float(np.sum(y & ~c))
    denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    return 0.0 if denominator == 0 else (tp * tn - fp * fn) / math.sqrt(denominator)


def fast_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic with average ranks for ties (NaN with one
    class). Written out for the bootstrap, like `fast_mcc`; a test checks it equals
    `sklearn.metrics.roc_auc_score`."""
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def decision_cut(p_train: np.ndarray, y_train: np.ndarray) -> float:
    """The cut at or above which a model calls the positive class, chosen on training days:
    the one whose share of positive calls on those days is closest to the share of positive
    labels there (ties: the lower cut).

    A model with a weak signal and a base-rate pull (P(up) above 0.5 on most days of a
    rising period; P(big move) below 0.5 on every day) then still calls each class about as
    often as it occurred, so MCC measures its ranking rather than the base rate. A constant
    score gets the cut that makes it the majority class; a 0/1 rule keeps its calls.
    """
    p = np.asarray(p_train, dtype=float)
    if len(p) == 0:
        return 0.5
    rate = float(np.mean(y_train))
    candidates = np.unique(p)  # ascending
    shares = 1.0 - np.searchsorted(np.sort(p), candidates, side="left") / len(p)
    # Just above the highest score: never call positive (finite, so it can be stored).
    cuts = np.append(candidates, np.nextafter(candidates[-1], np.inf))
    gaps = np.abs(np.append(shares, 0.0) - rate)
    return float(cuts[int(np.argmin(gaps))])


def abrupt_masks(
    close: np.ndarray, day: np.ndarray, train_days: np.ndarray, *, quantile: float = 0.9
) -> dict[str, dict[str, object]]:
    """Abrupt-change subsets of the predicted days `day` (indices into `close`).

    D_t = (x_t - x_{t-1}) / x_{t-1}, C_t = D_t - D_{t-1}.
    * ex_post: |C_t| of the predicted day t above the threshold. C_t contains the very move
      being predicted, so this subset is chosen by the outcome.
    * ex_ante: |C_{t-1}|, the last change observable when predicting day t.
    Thresholds are the `quantile` of |C| over the training days only.
    """
    d = np.full(len(close), np.nan)
    d[1:] = np.diff(close) / close[:-1]
    c = np.full(len(close), np.nan)
    c[1:] = np.diff(d)
    threshold = float(np.nanquantile(np.abs(c[train_days]), quantile))
    post = np.abs(c[day]) > threshold
    ante = np.abs(c[day - 1]) > threshold
    return {
        "ex_post": {"mask": post, "threshold": threshold},
        "ex_ante": {"mask": ante, "threshold": threshold},
    }
