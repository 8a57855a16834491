"""Statistics for the evaluation tables: a paired moving-block bootstrap of a metric
difference, Holm-adjusted p-values, and a mean +- sample std over seeds."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["block_bootstrap_diff", "holm", "seed_summary"]

Metric = Callable[[np.ndarray, np.ndarray], float]


def _safe(metric: Metric, y: np.ndarray, s: np.ndarray) -> float:
    """metric(y, s), or NaN where it is undefined on this resample (sklearn raises ValueError,
    e.g. AUC with one class, or warns and returns NaN)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(metric(y, s))
    except ValueError:
        return float("nan")
    return value


def _block_length(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> int:
    """Ceiling of the Politis-White (2004, corrected by Patton, Politis and White 2009) optimal
    block length of arch's optimal_block_length, column "circular" (the one for moving and
    circular blocks), on the per-day loss difference (y - a)^2 - (y - b)^2: the Brier-loss
    difference for probabilities, the 0/1-error difference for calls. If that series is
    constant (e.g. a == b) or the estimate is not finite, on y instead; then 1.
    Capped at n // 4 and at least 1."""
    from arch.bootstrap import optimal_block_length

    n = len(y)
    candidates = [(y - a) ** 2 - (y - b) ** 2, y]
    length = 1.0
    for series in candidates:
        series = np.asarray(series, dtype=np.float64)
        if np.ptp(series) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimate = float(optimal_block_length(series)["circular"].iloc[0])
        if math.isfinite(estimate) and estimate > 0:
            length = estimate
            break
    return int(max(1, min(math.ceil(length), max(1, n // 4))))


def block_bootstrap_diff(
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    metric: Metric,
    *,
    block_length: int | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Paired moving-block bootstrap over test days of metric(y, a) - metric(y, b).

    `y` are the outcomes of consecutive test days, `a` and `b` the two models' scores of the
    same days (0/1 calls or probabilities); `metric(y, scores) -> float`. Resampled indices come
    from arch.bootstrap.MovingBlockBootstrap with `seed`, the same indices for a and b (paired),
    so blocks keep the serial dependence of consecutive days.

    block_length None: chosen from the data (see `_block_length`: per-day loss difference,
    falling back to y), rounded up, 1 <= block_length <= n // 4.

    A resample on which the metric is undefined for a or b (a ValueError, as sklearn's
    roc_auc_score raises with one class; or a NaN) is skipped: the interval and p-value are
    taken over the remaining resamples, and their number is returned as "n_valid". If none
    remains, low, high and p_value are NaN. The metric on the full sample must be defined.

    Returns diff (on the full sample), low and high (2.5 and 97.5 percentiles of the resampled
    differences), p_value (two-sided: 2 * min(share of differences <= 0, share >= 0), capped at
    1 -- a bootstrap-percentile p-value, i.e. how often the resampled sign flips), block_length,
    n_resamples and n_valid."""
    from arch.bootstrap import MovingBlockBootstrap

    y = np.asarray(y)
    a = np.asarray(a)
    b = np.asarray(b)
    n = len(y)
    if not (len(a) == len(b) == n):
        raise ValueError(f"y, a and b must have the same length ({n}, {len(a)}, {len(b)})")
    if n < 2:
        raise ValueError("block_bootstrap_diff needs at least 2 days")
    diff = float(metric(y, a)) - float(metric(y, b))
    if block_length is None:
        block_length = _block_length(y.astype(np.float64), a.astype(float), b.astype(float))
    block_length = int(block_length)
    if block_length < 1:
        raise ValueError("block_length must be >= 1")

    bootstrap = MovingBlockBootstrap(block_length, np.arange(n), seed=seed)
    diffs = np.empty(n_resamples)
    for i, (pos, _) in enumerate(bootstrap.bootstrap(n_resamples)):
        idx = pos[0]
        diffs[i] = _safe(metric, y[idx], a[idx]) - _safe(metric, y[idx], b[idx])
    valid = diffs[np.isfinite(diffs)]
    if len(valid):
        low, high = (float(v) for v in np.percentile(valid, [2.5, 97.5]))
        p_value = min(1.0, 2.0 * min(float(np.mean(valid <= 0)), float(np.mean(valid >= 0))))
    else:
        low = high = p_value = float("nan")
    return {
        "diff": diff,
        "low": low,
        "high": high,
        "p_value": p_value,
        "block_length": block_length,
        "n_resamples": int(n_resamples),
        "n_valid": int(len(valid)),
    }


def holm(p_values: dict[str, float | None]) -> dict[str, float | None]:
    """Holm-adjusted p-values (statsmodels multipletests, method "holm") of the defined
    entries, family = the defined entries; NaN or None entries come back as None. Keeps keys
    and their order."""
    from statsmodels.stats.multitest import multipletests

    out: dict[str, float | None] = dict.fromkeys(p_values)
    keys = [k for k, p in p_values.items() if p is not None and not math.isnan(float(p))]
    if keys:
        adjusted = multipletests([p_values[k] for k in keys], method="holm")[1]
        for k, p in zip(keys, adjusted, strict=True):
            out[k] = float(p)
    return out


def seed_summary(values: Sequence[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (ddof=1; None for fewer than 2 values) and count of a
    metric over training seeds. Mean is None for no values."""
    x = np.asarray(list(values), dtype=np.float64)
    n = len(x)
    return {
        "mean": float(x.mean()) if n else None,
        "std": float(x.std(ddof=1)) if n >= 2 else None,
        "n": int(n),
    }
