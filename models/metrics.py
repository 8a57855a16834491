"""Classification metrics, paired bootstrap intervals, and the abrupt-change subsets."""

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

__all__ = ["json_safe", "scores", "probability_scores", "bootstrap_diff", "abrupt_masks", "METRICS"]

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


def bootstrap_diff(
    y: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    *,
    metric: str = "mcc",
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Paired bootstrap over days of metric(a) - metric(b): mean and 95% interval."""
    rng = np.random.default_rng(seed)
    fn = METRICS[metric]
    n = len(y)
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        diffs[i] = fn(y[idx], pred_a[idx]) - fn(y[idx], pred_b[idx])
    return {
        "diff": float(fn(y, pred_a) - fn(y, pred_b)),
        "low": float(np.percentile(diffs, 2.5)),
        "high": float(np.percentile(diffs, 97.5)),
    }


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
