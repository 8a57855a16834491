"""Daily price features, normalisation fitted on the past, and windows without look-ahead.

Alignment. A sample is anchored on day `a`, the last day whose price is used; its label is
the move of day a+1 (close[a+1] >= close[a], on adjusted closes: the dataset's label). The
window holds W days of price features ending at `a`, and event rows a-W+1+s..a+s where s is
the target's `event_shift` (models.targets: 0 for next_day, 1 for same_day, whose last step
carries the news of the very day being predicted). The predicted day is always a+1, so the
same chronological split applies to every target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.targets import get_target

__all__ = [
    "PRICE_FEATURES",
    "price_features",
    "up_labels",
    "Normaliser",
    "Windows",
    "make_windows",
    "window_at",
]

PRICE_FEATURES = ["ret", "range", "body", "gap", "dvol"]


def price_features(prices: pd.DataFrame) -> pd.DataFrame:
    """(n_days, 5) features of day t from bars up to t; the first day is NaN (no t-1)."""
    close = prices["adj_close"].astype(float)
    prev = close.shift(1)
    volume = prices["volume"].astype(float).clip(lower=1.0)
    return pd.DataFrame(
        {
            "ret": np.log(close / prev),
            "range": (prices["high"] - prices["low"]) / prices["close"],
            "body": (prices["close"] - prices["open"]) / prices["open"],
            "gap": prices["open"] / prices["close"].shift(1) - 1.0,
            "dvol": np.log(volume / volume.shift(1)),
        },
        index=prices.index,
    )


def up_labels(prices: pd.DataFrame) -> np.ndarray:
    """up[t] = 1 when adj_close[t] >= adj_close[t-1] (up[0] is undefined: -1)."""
    close = prices["adj_close"].to_numpy(dtype=float)
    up = np.full(len(close), -1, dtype=np.int64)
    up[1:] = (close[1:] >= close[:-1]).astype(np.int64)
    return up


@dataclass
class Normaliser:
    """Column mean and standard deviation, fitted on training rows only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> Normaliser:
        mean = np.nanmean(rows, axis=0)
        std = np.nanstd(rows, axis=0)
        return cls(mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32))

    def transform(self, rows: np.ndarray) -> np.ndarray:
        out = (rows - self.mean) / self.std
        return np.nan_to_num(out, nan=0.0).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Normaliser:
        return cls(np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32))


@dataclass
class Windows:
    """x: (n, W, F) float32; y: (n,) labels; anchor: (n,) index of day a; day: a + 1."""

    x: np.ndarray
    y: np.ndarray
    anchor: np.ndarray

    @property
    def day(self) -> np.ndarray:
        return self.anchor + 1

    def subset(self, mask: np.ndarray) -> Windows:
        return Windows(self.x[mask], self.y[mask], self.anchor[mask])


def window_at(
    price_rows: np.ndarray | None,
    event_rows: np.ndarray | None,
    anchor: int,
    window: int,
    target: str,
) -> np.ndarray:
    """One (W, F) window anchored on row `anchor` (see the module docstring).

    `event_rows` must have one more row than prices when the same_day target is asked for
    the day after the last price row.
    """
    shift = get_target(target).event_shift
    parts = []
    if price_rows is not None:
        parts.append(price_rows[anchor - window + 1 : anchor + 1])
    if event_rows is not None:
        parts.append(event_rows[anchor - window + 1 + shift : anchor + 1 + shift])
    return np.concatenate(parts, axis=1)


def wavelet_denoise(
    window_rows: np.ndarray, *, wavelet: str = "coif3", level: int = 3
) -> np.ndarray:
    """Soft-threshold wavelet denoising of one window's own rows, column by column.

    Applied to each window separately, it only ever sees that window's past: causal by
    construction (never to the whole series, which would leak the future into the past).
    Universal threshold sigma * sqrt(2 log n), sigma from the finest detail coefficients.
    """
    import pywt

    out = np.empty_like(window_rows)
    n = window_rows.shape[0]
    for j in range(window_rows.shape[1]):
        coeffs = pywt.wavedec(window_rows[:, j], wavelet, level=level, mode="periodization")
        sigma = np.median(np.abs(coeffs[-1])) / 0.6745
        cut = sigma * np.sqrt(2 * np.log(max(n, 2)))
        coeffs = [coeffs[0]] + [pywt.threshold(c, cut, mode="soft") for c in coeffs[1:]]
        out[:, j] = pywt.waverec(coeffs, wavelet, mode="periodization")[:n]
    return out


def make_windows(
    price_rows: np.ndarray | None,
    event_rows: np.ndarray | None,
    labels: np.ndarray,
    *,
    window: int,
    target: str,
    first: int = 1,
    denoise: bool = False,
) -> Windows:
    """Every window whose label (day a+1) is known; rows are already normalised.

    `first` is the first row with valid price features (1: the return of day 0 is unknown).
    With `denoise`, the price part of each window is wavelet-denoised on its own (causal).
    """
    n = len(labels)
    anchors = np.arange(first + window - 1, n - 1)
    anchors = anchors[labels[anchors + 1] >= 0]
    if len(anchors) == 0:
        width = sum(r.shape[1] for r in (price_rows, event_rows) if r is not None)
        return Windows(np.zeros((0, window, width), np.float32), np.zeros(0, np.int64), anchors)
    x = np.stack([window_at(price_rows, event_rows, a, window, target) for a in anchors])
    if denoise and price_rows is not None:
        width = price_rows.shape[1]
        x[:, :, :width] = np.stack([wavelet_denoise(w[:, :width]) for w in x])
    return Windows(x.astype(np.float32), labels[anchors + 1], anchors)
