"""Daily inputs of a model: which trading day a headline belongs to, how a day's events are
pooled, and the one function that cuts a model's window from price and event rows.

Training, evaluation, prediction and explanation all go through this module; none of them
decides alignment on its own. What a target may see is asked of `models.targets`.

* Trading days. A headline dated d belongs to the first trading day on or after d: news of a
  weekend or a holiday reaches the next session, and nothing dated after a trading day is
  used for it. News dated after the last trading day given is dropped.
* Pooling. A day's event vectors are averaged with weights proportional to 1/rank (rank 1 =
  the hottest headline), summing to 1; a day without events pools to zeros.
* Event sets. For a network that pools a day's events itself (attention, models.networks),
  the day's row instead holds its EVENT_SLOTS most popular events, each as its vector and
  its prior log-weight (log of its 1/rank weight); empty slots carry NO_EVENT as the prior.
* Windows. A window anchored on row `a` holds the W price rows ending at `a` and the W event
  rows ending at `a + event_shift` of the target (see models.targets). Its label is the move
  of row a+1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.features import Normaliser
from models.targets import NewsTiming, Target

__all__ = [
    "assign_days",
    "assign_news",
    "news_timing",
    "rank_weights",
    "pool_events",
    "EVENT_SLOTS",
    "NO_EVENT",
    "stack_events",
    "event_set_rows",
    "model_event_rows",
    "set_normaliser",
    "DayEvents",
    "event_rows",
    "Windows",
    "WindowStack",
    "window_at",
    "windows_at",
    "make_windows",
    "wavelet_denoise",
]

DEFAULT_RANK = 25  # rank given to a headline stored without one (the dataset's last rank)
# A day's event slots for attention pooling. The demo's dates have a median of 43 events
# (25 headlines); 32 slots hold those of about the 18 most popular headlines, and the
# 1/rank prior gives the rest little weight (ranks 19-25: ~8% of a date's weight).
EVENT_SLOTS = 32
NO_EVENT = -30.0  # the prior log-weight of an empty slot (exp(-30): nothing)


def assign_days(
    headline_dates: Sequence[dt.date],
    trading_days: Sequence[dt.date],
    *,
    since: dt.date | None = None,
) -> np.ndarray:
    """Index into `trading_days` (ascending) of the day each headline belongs to, or -1.

    -1 marks a headline dated after the last trading day, or on or before `since` (the
    trading day before the first one, whose news is not wanted).
    """
    days = np.asarray(trading_days, dtype="datetime64[D]")
    dates = np.asarray(headline_dates, dtype="datetime64[D]")
    out = np.searchsorted(days, dates, side="left").astype(np.int64)
    out[out == len(days)] = -1
    if since is not None:
        out[dates <= np.datetime64(since, "D")] = -1
    return out


def assign_news(
    dates: Sequence[dt.date],
    published: Sequence[dt.datetime | None],
    trading_days: Sequence[dt.date],
    closes: Sequence[dt.datetime],
    *,
    since: dt.date | None = None,
    since_close: dt.datetime | None = None,
) -> np.ndarray:
    """Index into `trading_days` (ascending, closing at `closes`) of the day each item of
    news belongs to, or -1: the news a prediction made at that day's close may read.

    An item with a publication instant belongs to the first trading day that closes after
    it: published one minute before a day's close, it is that day's news; one minute after,
    the next trading day's (news of a weekend goes to Monday). An item known by its date only
    counts as published at the end of that date: the first trading day on or after its date
    (`assign_days`; so a date-only item of day D is read at D's close although it may have
    been published after it, which is why such answers say "dates only"). -1 marks an item
    after the last day's close (or date), or, with `since` and `since_close` (the trading
    day before the first one, and its close), one that is not after them.
    """
    out = assign_days(dates, trading_days, since=since)
    timed = np.array([p is not None for p in published], dtype=bool)
    if timed.any():
        edges = np.array([c.timestamp() for c in closes], dtype=np.float64)
        when = np.array([p.timestamp() for p in published if p is not None], dtype=np.float64)
        idx = np.searchsorted(edges, when, side="right").astype(np.int64)
        idx[idx == len(edges)] = -1
        if since_close is not None:
            idx[when < since_close.timestamp()] = -1
        out[timed] = idx
    return out


def news_timing(days: Sequence[DayEvents]) -> NewsTiming:
    """How the news of `days` is timed: "timestamps" when every item read carries its
    publication instant (so none was published after the close that reads it), else
    "dates only"."""
    return "dates only" if any(d.n_headlines > d.n_timed for d in days) else "timestamps"


def rank_weights(ranks: Sequence[int] | np.ndarray) -> np.ndarray:
    """Popularity weights: proportional to 1/rank (rank 1 = hottest), summing to 1."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        return ranks
    w = 1.0 / np.clip(ranks, 1.0, None)
    return w / w.sum()


def pool_events(vectors: np.ndarray, ranks: Sequence[int] | np.ndarray) -> np.ndarray:
    """(n, d) event vectors of one day -> (d,) weighted mean; zeros for a day without events."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape[0] == 0:
        return np.zeros(vectors.shape[1] if vectors.ndim == 2 else 0, dtype=np.float32)
    return (rank_weights(ranks)[:, None] * vectors).sum(axis=0).astype(np.float32)


def stack_events(
    vectors: np.ndarray, ranks: Sequence[int] | np.ndarray, slots: int = EVENT_SLOTS
) -> np.ndarray:
    """(n, d) event vectors of one day -> (slots * (d + 1),): the `slots` most popular events
    (by rank, ranks below 1 counted as 1 as in `rank_weights`, ties in order), each followed
    by its prior log-weight (the log of its 1/rank weight among the day's events kept);
    empty slots are zeros with the prior NO_EVENT."""
    vectors = np.asarray(vectors, dtype=np.float32)
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    out = np.zeros((slots, dim + 1), dtype=np.float32)
    out[:, dim] = NO_EVENT
    if vectors.shape[0]:
        ranks = np.asarray(ranks, dtype=np.float64)
        top = np.argsort(np.clip(ranks, 1.0, None), kind="stable")[:slots]
        out[: len(top), :dim] = vectors[top]
        out[: len(top), dim] = np.log(rank_weights(ranks[top]))
    return out.reshape(-1)


def set_normaliser(rows: np.ndarray, slots: int = EVENT_SLOTS) -> Normaliser:
    """A Normaliser of event-set rows (n, slots * (d + 1)) fitted on the real events among
    them: every slot's vector is standardised with the same statistics; the prior column is
    left as it is (mean 0, std 1), so an empty slot keeps NO_EVENT."""
    cells = np.asarray(rows, dtype=np.float32).reshape(-1, rows.shape[1] // slots)
    real = cells[cells[:, -1] > NO_EVENT / 2, :-1]
    if len(real) == 0:
        mean, std = np.zeros(cells.shape[1] - 1), np.ones(cells.shape[1] - 1)
    else:
        mean, std = real.mean(axis=0), real.std(axis=0)
    mean = np.append(mean, 0.0)
    std = np.append(np.where(std > 1e-8, std, 1.0), 1.0)
    return Normaliser(
        np.tile(mean, slots).astype(np.float32), np.tile(std, slots).astype(np.float32)
    )


@dataclass
class DayEvents:
    """The events assigned to one trading day; `vectors` is (n_events, dim).

    `rows` carries the stored events (any objects) for explanations; this module never
    reads them.
    """

    date: dt.date
    event_ids: list[int] = field(default_factory=list)
    ranks: list[int] = field(default_factory=list)
    vectors: np.ndarray | None = None
    n_headlines: int = 0
    n_timed: int = 0  # items with a publication instant (the others are known by date only)
    n_pending: int = 0  # headlines stored but not processed yet (their events still to come)
    n_linked: int = 0
    rows: list[Any] = field(default_factory=list)

    def pooled(self, dim: int, *, drop: Collection[int] = ()) -> np.ndarray:
        """Pooled vector of the day without the events at positions `drop`."""
        if self.vectors is None or not len(self.event_ids):
            return np.zeros(dim, dtype=np.float32)
        keep = [i for i in range(len(self.event_ids)) if i not in drop]
        return pool_events(self.vectors[keep], np.asarray(self.ranks)[keep])

    def stacked(
        self, dim: int, slots: int = EVENT_SLOTS, *, drop: Collection[int] = ()
    ) -> np.ndarray:
        """The day's event set (stack_events) without the events at positions `drop`."""
        if self.vectors is None or not len(self.event_ids):
            return stack_events(np.zeros((0, dim), np.float32), [], slots)
        keep = [i for i in range(len(self.event_ids)) if i not in drop]
        return stack_events(self.vectors[keep], np.asarray(self.ranks)[keep], slots)


def event_rows(
    days: Sequence[DayEvents],
    dim: int,
    *,
    leading: int = 0,
    drop: Mapping[int, Collection[int]] | None = None,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """(leading + n_days, dim) pooled event rows, one per day, after `leading` zero rows.

    `leading` pads rows that stand beside price rows whose news is not read (see
    Target.leading_event_rows). `drop` maps a day's position in `days` to the positions of
    its events left out (occlusion and attribution). `base`, the rows without any drop,
    saves re-pooling the days that `drop` leaves alone.
    """
    drop = drop or {}
    if base is not None:
        out = base.copy()
        for j, positions in drop.items():
            out[leading + j] = days[j].pooled(dim, drop=positions)
        return out
    out = np.zeros((leading + len(days), dim), dtype=np.float32)
    for j, day in enumerate(days):
        out[leading + j] = day.pooled(dim, drop=drop.get(j, ()))
    return out


def event_set_rows(
    days: Sequence[DayEvents],
    dim: int,
    slots: int = EVENT_SLOTS,
    *,
    leading: int = 0,
    drop: Mapping[int, Collection[int]] | None = None,
) -> np.ndarray:
    """(leading + n_days, slots * (dim + 1)) event-set rows, one per day (see stack_events),
    after `leading` rows of a day without events; `drop` as in `event_rows`."""
    drop = drop or {}
    empty = stack_events(np.zeros((0, dim), np.float32), [], slots)
    out = np.tile(empty, (leading + len(days), 1))
    for j, day in enumerate(days):
        out[leading + j] = day.stacked(dim, slots, drop=drop.get(j, ()))
    return out


def model_event_rows(
    days: Sequence[DayEvents],
    dim: int,
    slots: int = 0,
    *,
    leading: int = 0,
    drop: Mapping[int, Collection[int]] | None = None,
) -> np.ndarray:
    """The event rows a model reads: the pooled rows (`event_rows`), or with `slots` > 0 the
    event sets it pools itself (`event_set_rows`)."""
    if slots:
        return event_set_rows(days, dim, slots, leading=leading, drop=drop)
    return event_rows(days, dim, leading=leading, drop=drop)


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
