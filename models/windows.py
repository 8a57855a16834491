"""A model's windows: the one place where a model input is cut from price and event rows.

A window anchored on row `a` holds the W price rows ending at `a` and the W event
rows ending at `a + event_shift` of the target (see models.targets). Its label is the move
of row a+1.

Training, evaluation, prediction and explanation all cut their windows here (the rows come
from models.inputs); what a target may see is asked of `models.targets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.targets import Target

__all__ = [
    "Windows",
    "WindowStack",
    "window_at",
    "windows_at",
    "make_windows",
    "wavelet_denoise",
]


class WindowStack:
    """(n, W, F) float32 windows kept as the (days, F) table of rows they are cut from and
    their n anchors: window i is rows[anchor_i - W + 1 : anchor_i + 1]. A served version with
    event sets reads 4,260 columns a day: its 2,000 windows would be a 680 MB array, copied
    at every selection, where the table is 34 MB.

    Selecting windows (a slice, a boolean mask or an index array) gives a stack of the same
    table, an integer one window, `gather` or `np.asarray` the windows as an array: each
    value equals what `windows_at` cuts."""

    def __init__(self, rows: np.ndarray, anchors: np.ndarray, window: int) -> None:
        """`rows` (days, F) float32; `anchors` (n,) rows of the windows' last days."""
        self.rows = rows
        self.anchors = np.asarray(anchors, np.int64)
        self.window = window
        self._steps = np.arange(1 - window, 1)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(n, W, F), as the array's."""
        return (len(self.anchors), self.window, self.rows.shape[1])

    @property
    def dtype(self) -> np.dtype[Any]:
        """The rows' dtype (float32)."""
        return self.rows.dtype

    ndim = 3

    def __len__(self) -> int:
        """n, the number of windows."""
        return len(self.anchors)

    def gather(self, index: Any = None) -> np.ndarray:
        """The windows `index` selects (None: all) as one (m, W, F) array."""
        anchors = self.anchors if index is None else self.anchors[index]
        return self.rows[anchors[:, None] + self._steps]

    def __getitem__(self, key: Any) -> Any:
        """An integer: that window, an array; a slice, mask or index array: a stack of the
        windows it selects; a tuple: the windows' array indexed with it."""
        if isinstance(key, int | np.integer):
            a = int(self.anchors[key])
            return self.rows[a - self.window + 1 : a + 1].copy()
        if isinstance(key, tuple):  # indexing inside the windows: on the array
            return self.gather()[key]
        return WindowStack(self.rows, self.anchors[key], self.window)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every window, as one (n, W, F) array (a new one)."""
        out = self.gather()
        return out if dtype is None else out.astype(dtype, copy=False)


@dataclass
class Windows:
    """x: (n, W, F) float32 windows, an array or a `WindowStack`; y: (n,) labels; anchor:
    (n,) index of day a; day: a + 1."""

    x: np.ndarray | WindowStack
    y: np.ndarray
    anchor: np.ndarray

    @property
    def day(self) -> np.ndarray:
        """(n,) index of the day each label is about: the anchor's next row."""
        return self.anchor + 1

    def subset(self, mask: np.ndarray) -> Windows:
        """The windows selected by `mask`, a boolean mask or an index array over the n windows."""
        return Windows(self.x[mask], self.y[mask], self.anchor[mask])


def window_at(
    price_rows: np.ndarray | None,
    event_rows: np.ndarray | None,
    anchor: int,
    window: int,
    rule: Target,
) -> np.ndarray:
    """One (W, F) window anchored on row `anchor` (see the module docstring): the one place
    where a model input is cut, for training, evaluation, prediction and explanation.

    A shifted target needs event rows up to `anchor + event_shift`: when it is asked about
    the day after the last price row, `event_rows` has that many more rows than prices.
    """
    return windows_at(price_rows, event_rows, np.array([anchor]), window, rule)[0]


def windows_at(
    price_rows: np.ndarray | None,
    event_rows: np.ndarray | None,
    anchors: np.ndarray,
    window: int,
    rule: Target,
) -> np.ndarray:
    """The (n, W, F) windows anchored on each of `anchors` (`window_at` for each, gathered
    in one indexing step instead of a Python loop; each value is the same)."""
    shift = rule.event_shift  # the target `rule`'s event rows lead its prices by this
    rows = np.asarray(anchors, np.int64)[:, None] + np.arange(1 - window, 1)
    if (rows < 0).any():
        raise IndexError(f"a window of {window} rows needs anchors >= {window - 1}")
    parts = []
    if price_rows is not None:
        parts.append(price_rows[rows])
    if event_rows is not None:
        parts.append(event_rows[rows + shift])
    return np.concatenate(parts, axis=2)


def wavelet_denoise(window_rows: np.ndarray, *, wavelet: str = "db2", level: int = 3) -> np.ndarray:
    """Soft-threshold wavelet denoising of one window's own rows, column by column.

    Applied to each window separately, it only ever sees that window's past: causal by
    construction (never to the whole series, which would leak the future into the past).
    Universal threshold sigma * sqrt(2 log n), sigma from the finest detail coefficients.
    The level is capped at the deepest one the window's length allows for the wavelet
    (pywt.dwt_max_level: 2 for 20 rows of db2), so no coefficient is all boundary effect;
    the seed article's coif3 (18 taps) allows no level on a 20-day window.
    """
    import pywt

    out = np.empty_like(window_rows)
    n = window_rows.shape[0]
    level = min(level, pywt.dwt_max_level(n, pywt.Wavelet(wavelet).dec_len))
    if level < 1:
        raise ValueError(f"a {n}-row window is too short for the wavelet {wavelet}")
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
    rule: Target,
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
    if denoise and price_rows is not None:
        x = windows_at(price_rows, event_rows, anchors, window, rule)
        width = price_rows.shape[1]
        x[:, :, :width] = np.stack([wavelet_denoise(w[:, :width]) for w in x])
        return Windows(x.astype(np.float32), labels[anchors + 1], anchors)
    # The windows as views of one table of rows (row r: price row r, event row r + shift),
    # each value what `windows_at` cuts.
    last = int(anchors[-1]) + 1
    shift = rule.event_shift
    parts = []
    if price_rows is not None:
        parts.append(price_rows[:last])
    if event_rows is not None:
        if len(event_rows) < last + shift:
            raise IndexError(f"windows up to row {last - 1} need {last + shift} event rows")
        parts.append(event_rows[shift : last + shift])
    rows = np.concatenate(parts, axis=1).astype(np.float32)
    return Windows(WindowStack(rows, anchors, window), labels[anchors + 1], anchors)
