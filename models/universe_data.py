"""A universe's tables (models.universe.UniverseTables) from its stocks' bars and news.

A stock here is anything with `symbol`, `dates` (its trading days, ascending), `closes`
(each day's close as a POSIX time), `news_dates`, `news_times` (POSIX time or NaN for a
date-only item) and `price_rows` (raw price features, models.features): the evaluation's
`StockData` and the service's loaded stocks alike.

Which row an item of news belongs to:
* tradable (served, and the tradable protocols): a timed item to the first trading day whose
  close is after it, a date-only item to its date or the next trading day; a sample of day
  D reads rows up to D-1, so what was published before D-1's close;
* paper (the paper's protocol): an item filed on day f to the last trading day before the
  first trading day after f (a Saturday's file to Friday's row).

Stocks are first put on one calendar (`on_calendar`: the union of their trading days), so
row i is the same day for every stock: a related stock's events are read on the day they
happened whatever its history (a stock listed later, a missing bar). A stock's row without
a bar reads as zeros.

Normalisers are fitted on training rows (`fit_scales`) and kept with a served version, so
serving builds the same tables from the rows it reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.features import Normaliser
from models.universe import UniverseConfig, UniverseTables

__all__ = [
    "SEEDS",
    "StockData",
    "NeuralInputs",
    "CalendarStock",
    "on_calendar",
    "Scales",
    "tradable_rows",
    "paper_rows",
    "item_means",
    "fit_scales",
    "universe_tables",
]


@dataclass
class StockData:
    """One stock: its trading days and adjusted closes (ascending), its news (file or
    source date, publication instant as a POSIX time or NaN, text), and the close of each
    trading day as a POSIX time."""

    symbol: str
    dates: list[dt.date]
    adj_close: np.ndarray
    closes: np.ndarray
    news_dates: list[dt.date] = field(default_factory=list)
    news_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    news_texts: list[str] = field(default_factory=list)
    news_ids: list[int] = field(default_factory=list)  # the stored items' ids, if any
    # raw price features of each trading day (models.features.PRICE_FEATURES), if loaded
    price_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))


SEEDS = (0, 1, 2)  # a universe network's seeds: its answer is their mean P(up)


@dataclass
class NeuralInputs:
    """What a universe network reads beyond StockData: each stock's item vectors of the "kg"
    channel (aligned with its news items), and its related stocks with relation features
    (app.services.stocknet_eval.universe_knowledge builds it for training and evaluation)."""

    kg_vectors: Mapping[str, np.ndarray] = field(default_factory=dict)
    embedding_version: str | None = None
    facts: list[tuple[str, str, str]] = field(default_factory=list)  # kg.companies triples
    nodes: dict[str, str] = field(default_factory=dict)  # symbol -> its node in those facts
    related: Mapping[str, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    config: UniverseConfig = field(default_factory=UniverseConfig)
    seeds: tuple[int, ...] = SEEDS


@dataclass
class CalendarStock:
    """A stock on the universe's calendar: `dates` and `closes` are the calendar's, its
    price rows NaN on days without its bar, its news as it was."""

    symbol: str
    dates: list[dt.date]
    closes: np.ndarray
    price_rows: np.ndarray
    news_dates: list[dt.date]
    news_times: np.ndarray
    news_ids: list[int]
    news_texts: list[str]


def on_calendar(stocks: Sequence[Any]) -> tuple[list[CalendarStock], dict[dt.date, int]]:
    """`stocks` on the union of their trading days, and each day's row."""
    closes: dict[dt.date, float] = {}
    for s in stocks:
        closes.update(zip(s.dates, map(float, s.closes), strict=True))
    calendar = sorted(closes)
    row = {d: i for i, d in enumerate(calendar)}
    out = []
    for s in stocks:
        prices = np.full((len(calendar), s.price_rows.shape[1]), np.nan, np.float32)
        prices[[row[d] for d in s.dates]] = s.price_rows
        out.append(
            CalendarStock(
                symbol=s.symbol,
                dates=calendar,
                closes=np.array([closes[d] for d in calendar], np.float64),
                price_rows=prices,
                news_dates=list(s.news_dates),
                news_times=np.asarray(s.news_times, np.float64),
                news_ids=list(getattr(s, "news_ids", [])),
                news_texts=list(s.news_texts),
            )
        )
    return out, row


def tradable_rows(stock: Any) -> np.ndarray:
    """Each item's row in `stock.dates` (tradable rule, module docstring); -1 after the last."""
    days = np.array(stock.dates, dtype="datetime64[D]")
    filed = np.array(stock.news_dates, dtype="datetime64[D]")
    times = np.asarray(stock.news_times, dtype=np.float64)
    by_time = np.searchsorted(stock.closes, times, side="right")
    by_date = np.searchsorted(days, filed, side="left")
    out = np.where(np.isnan(times), by_date, by_time)
    return np.where(out >= len(days), -1, out)


def paper_rows(stock: Any) -> np.ndarray:
    """Each item's row under the paper's files (module docstring); -1 after the last row."""
    days = np.array(stock.dates, dtype="datetime64[D]")
    filed = np.array(stock.news_dates, dtype="datetime64[D]")
    after = np.searchsorted(days, filed, side="right")  # first trading day > f
    return np.where(after >= len(days), -1, after - 1)


def item_means(
    stocks: Sequence[Any], vectors: Mapping[str, np.ndarray], family: str, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """(S, rows, dim) mean item vector per stock and row (NaN where it has none) and (S,
    rows) item counts; an item whose vector is NaN (no events) is not counted."""
    dim = next(iter(vectors.values())).shape[1]
    sums = np.zeros((len(stocks), rows, dim), np.float64)
    counts = np.zeros((len(stocks), rows), np.float64)
    for k, s in enumerate(stocks):
        vec = vectors[s.symbol]
        if not len(vec):
            continue
        at = paper_rows(s) if family == "paper" else tradable_rows(s)
        ok = (at >= 0) & ~np.isnan(vec).any(axis=1)
        np.add.at(sums[k], at[ok], vec[ok])
        np.add.at(counts[k], at[ok], 1.0)
    has = counts > 0
    means = np.where(has[..., None], sums / np.maximum(counts, 1.0)[..., None], np.nan)
    return means, counts


@dataclass
class Scales:
    """Normalisers fitted on training rows: one per stock for prices, one for events."""

    prices: dict[str, Normaliser]
    events: Normaliser | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain lists, for a version's metadata."""

        def plain(n: Normaliser) -> dict[str, list[float]]:
            return {"mean": n.mean.tolist(), "std": n.std.tolist()}

        return {
            "prices": {s: plain(n) for s, n in self.prices.items()},
            "events": plain(self.events) if self.events is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scales:
        """Back from `to_json`."""

        def norm(d: Mapping[str, list[float]]) -> Normaliser:
            return Normaliser(np.array(d["mean"], np.float32), np.array(d["std"], np.float32))

        events = data.get("events")
        return cls(
            prices={s: norm(d) for s, d in data["prices"].items()},
            events=norm(events) if events else None,
        )


def _train_rows(stock: Any, train_end: dt.date) -> int:
    return int(np.searchsorted(np.array(stock.dates, "datetime64[D]"), np.datetime64(train_end)))


def fit_scales(
    stocks: Sequence[Any],
    train_end: dt.date,
    means: np.ndarray | None = None,
) -> Scales:
    """Each stock's price normaliser on its rows before `train_end`, and (with `means`, from
    `item_means`) the event normaliser on training rows that have news."""
    prices = {
        s.symbol: Normaliser.fit(s.price_rows[: max(_train_rows(s, train_end), 2)]) for s in stocks
    }
    events = None
    if means is not None:
        dim = means.shape[2]
        mask = np.zeros(means.shape[:2], bool)
        for k, s in enumerate(stocks):
            mask[k, : _train_rows(s, train_end)] = True
        fit = means[mask & ~np.isnan(means[..., 0])]
        events = Normaliser.fit(fit if len(fit) else np.zeros((1, dim)))
    return Scales(prices, events)


def _related(
    stocks: Sequence[Any], related: Mapping[str, Sequence[tuple[str, np.ndarray]]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S, K) related indices, (S, K, F) relation features and (S, K) mask, padded."""
    where = {s.symbol: k for k, s in enumerate(stocks)}
    lists = [[(where[r], f) for r, f in related.get(s.symbol, []) if r in where] for s in stocks]
    k_max = max(1, max((len(x) for x in lists), default=0))
    f_dim = next((len(f) for x in lists for _, f in x), 1)
    idx = np.zeros((len(stocks), k_max), np.int64)
    feats = np.zeros((len(stocks), k_max, f_dim), np.float32)
    mask = np.zeros((len(stocks), k_max), bool)
    for k, x in enumerate(lists):
        for j, (r, f) in enumerate(x):
            idx[k, j], feats[k, j], mask[k, j] = r, np.asarray(f, np.float32), True
    return idx, feats, mask


def universe_tables(
    stocks: Sequence[Any],
    scales: Scales,
    *,
    means: np.ndarray | None = None,
    counts: np.ndarray | None = None,
    related: Mapping[str, Sequence[tuple[str, np.ndarray]]] | None = None,
    rows: int | None = None,
) -> UniverseTables:
    """The tables of `stocks` with `scales`: prices normalised per stock, events (from
    `item_means`) standardised, 0 on rows without news, and log(1 + items) as the last
    column; `rows` (default the longest stock's days) leaves room for a row to predict."""
    t = rows or max(len(s.dates) for s in stocks)
    p = stocks[0].price_rows.shape[1]
    prices = np.zeros((len(stocks), t, p), np.float32)
    for k, s in enumerate(stocks):
        prices[k, : len(s.dates)] = scales.prices[s.symbol].transform(s.price_rows)
    events = None
    if means is not None and counts is not None and scales.events is not None:
        dim = means.shape[2]
        table = np.zeros((len(stocks), t, dim), np.float32)
        n = means.shape[1]
        scaled = scales.events.transform(means.reshape(-1, dim)).reshape(means.shape)
        scaled[np.isnan(means[..., 0])] = 0.0
        table[:, :n] = scaled
        count = np.zeros((len(stocks), t, 1), np.float32)
        count[:, :n, 0] = np.log1p(counts)
        events = np.concatenate([table, count], axis=-1)
    idx, feats, mask = _related(stocks, related or {})
    return UniverseTables(
        prices=prices, events=events, related=idx, relation=feats, related_mask=mask
    )
