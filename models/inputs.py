"""Daily inputs of a model: which trading day a headline belongs to, how a day's events are
pooled, and the rows a model's windows are cut from (the windows: models.windows).

Training, evaluation, prediction and explanation all go through this module and
models.windows; none of them decides alignment on its own. What a target may see is asked of
`models.targets`.

* Trading days. A headline dated d belongs to the first trading day on or after d: news of a
  weekend or a holiday reaches the next session, and nothing dated after a trading day is
  used for it. News dated after the last trading day given is dropped.
* Pooling. A day's event vectors are averaged with weights proportional to 1/rank (rank 1 =
  the hottest headline), summing to 1; a day without events pools to zeros.
* Event sets. For a network that pools a day's events itself (attention, models.networks),
  the day's row instead holds its EVENT_SLOTS most popular events, each as its vector and
  its prior log-weight (log of its 1/rank weight); empty slots carry NO_EVENT as the prior.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.features import Normaliser
from models.targets import NewsTiming

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
