"""Daily price features and normalisation fitted on the past.

Feature row t is computed from bars up to t. Labels come from models.targets (label t is
about the move of day t); windows are cut from these rows by models.inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PRICE_FEATURES", "LEGACY_PRICE_FEATURES", "price_features", "Normaliser"]

# The model inputs. "gap" (open over the previous close) is computed but not read: in the
# bundled Yahoo ^DJI bars the index's open is mostly the previous close (40-55% of the
# 2009-2014 training days have |gap| < 0.01%, training std 0.03%), so after normalisation
# the later, differently recorded opens of 2016 land at +-11 standard deviations. It measures
# the vendor's recording, not the market. Versions saved before this read all five.
PRICE_FEATURES = ["ret", "range", "body", "dvol"]
LEGACY_PRICE_FEATURES = ["ret", "range", "body", "gap", "dvol"]


def price_features(prices: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """(n_days, len(columns)) features of day t from bars up to t (default PRICE_FEATURES);
    the first day is NaN (no t-1)."""
    close = prices["adj_close"].astype(float)
    prev = close.shift(1)
    volume = prices["volume"].astype(float).clip(lower=1.0)
    frame = pd.DataFrame(
        {
            "ret": np.log(close / prev),
            "range": (prices["high"] - prices["low"]) / prices["close"],
            "body": (prices["close"] - prices["open"]) / prices["open"],
            "gap": prices["open"] / prices["close"].shift(1) - 1.0,
            "dvol": np.log(volume / volume.shift(1)),
        },
        index=prices.index,
    )
    return frame[list(columns or PRICE_FEATURES)]


@dataclass
class Normaliser:
    """Column mean and standard deviation, fitted on training rows only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> Normaliser:
        """Fit on (n, columns) rows, ignoring NaNs; a column with std <= 1e-8 gets std 1."""
        mean = np.nanmean(rows, axis=0)
        std = np.nanstd(rows, axis=0)
        return cls(mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32))

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """(rows - mean) / std as float32; a NaN (missing value) becomes 0, the fitted mean."""
        out = (rows - self.mean) / self.std
        return np.nan_to_num(out, nan=0.0).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        """{"mean": [...], "std": [...]}, JSON-ready (`from_dict` reads it back)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Normaliser:
        """The normaliser saved by `to_dict`."""
        return cls(np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32))
