"""The StockNet protocols' samples (evaluation.stocknet), on plain arrays (any universe): a
stock's data, the protocol's dates, and which samples each protocol keeps with the news each
reads (the rules are evaluation.stocknet's docstring)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models.universe_data import StockData

__all__ = ["LAG_DAYS", "Samples", "Splits", "build_samples"]

DROP_LOW, DROP_HIGH = -0.005, 0.0055  # the paper's band of dropped moves
LAG_DAYS = 5  # calendar days of news before D (the paper's max_n_days)
N_RETURNS = 5  # the returns baseline reads the last 5 daily returns before D


@dataclass(frozen=True)
class Splits:
    """The protocol's dates: train [start, train_end), development [train_end, dev_end),
    test [dev_end, test_end)."""

    start: dt.date = dt.date(2014, 1, 1)
    train_end: dt.date = dt.date(2015, 8, 1)
    dev_end: dt.date = dt.date(2015, 10, 1)
    test_end: dt.date = dt.date(2016, 1, 1)

    def split(self, day: dt.date) -> str | None:
        """The split of `day`: train, dev, test, or None outside the protocol's dates."""
        if day < self.start or day >= self.test_end:
            return None
        if day < self.train_end:
            return "train"
        return "dev" if day < self.dev_end else "test"


@dataclass
class Samples:
    """A protocol's samples: stock, target day, split, label, the last returns before the
    day, the window's news texts (joined, and the items' indices), how many of them were
    date-only, the day's row in its stock's series, and the stocks by symbol."""

    symbol: list[str] = field(default_factory=list)
    date: list[dt.date] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    move: list[float] = field(default_factory=list)  # D's return, close to close
    returns: list[np.ndarray] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    n_news: list[int] = field(default_factory=list)
    n_dated_only: int = 0
    row: list[int] = field(default_factory=list)  # the day's row in its stock's dates
    news: list[np.ndarray] = field(default_factory=list)  # the items read, in stock.news_*
    stocks: dict[str, StockData] = field(default_factory=dict)

    def mask(self, split: str) -> np.ndarray:
        """Which samples are in `split`."""
        return np.array([s == split for s in self.split], dtype=bool)


def _window_returns(adj: np.ndarray, i: int) -> np.ndarray | None:
    """The last N_RETURNS daily log returns before row i (None when history is short)."""
    if i < N_RETURNS + 1:
        return None
    closes = adj[i - N_RETURNS - 1 : i]
    return np.diff(np.log(closes))


class _NewsIndex:
    """A stock's news sorted by filing date and by publication instant, for range lookups."""

    def __init__(self, stock: StockData) -> None:
        """Sort `stock`'s items once."""
        self.days = np.array(stock.news_dates, dtype="datetime64[D]")
        self.by_day = np.argsort(self.days, kind="stable")
        self.sorted_days = self.days[self.by_day]
        times = np.asarray(stock.news_times, dtype=np.float64)
        timed = np.flatnonzero(~np.isnan(times))
        self.by_time = timed[np.argsort(times[timed], kind="stable")]
        self.sorted_times = times[self.by_time]
        dated = np.flatnonzero(np.isnan(times))
        self.dated = dated[np.argsort(self.days[dated], kind="stable")]
        self.dated_days = self.days[self.dated]

    def filed(self, first: dt.date, before: dt.date) -> np.ndarray:
        """Items filed on days in [first, before)."""
        lo, hi = np.searchsorted(self.sorted_days, np.array([first, before], "datetime64[D]"))
        return self.by_day[lo:hi]

    def published(self, first: float, before: float) -> np.ndarray:
        """Timed items published in [first, before) (POSIX times)."""
        lo, hi = np.searchsorted(self.sorted_times, [first, before])
        return self.by_time[lo:hi]

    def dated_only(self, first: dt.date, last: dt.date) -> np.ndarray:
        """Date-only items dated in [first, last]."""
        bounds = np.array([first, last + dt.timedelta(days=1)], "datetime64[D]")
        lo, hi = np.searchsorted(self.dated_days, bounds)
        return self.dated[lo:hi]


def _eligible(stock: StockData, i: int, filed_days: set[dt.date]) -> bool:
    """The paper's `is_eligible`: each trading day of the lag window (those of the 4
    calendar days before D, then D) has an item filed before it and not before the window
    day preceding it (files before the first window day count for the first)."""
    day = stock.dates[i]
    ts = [d for d in stock.dates[max(0, i - LAG_DAYS) : i] if d >= day - dt.timedelta(4)]
    ts.append(day)
    filled = [False] * len(ts)
    for filed in filed_days:
        filled[next(j for j, t in enumerate(ts) if filed < t)] = True
    return all(filled)


def _news(
    stock: StockData, index: _NewsIndex, i: int, protocol: str
) -> tuple[np.ndarray, int] | None:
    """The items a sample of day i reads under `protocol` and how many are date-only; None
    when the paper's eligibility drops the sample."""
    day = stock.dates[i]
    if protocol.startswith("paper"):
        news = index.filed(day - dt.timedelta(days=LAG_DAYS), day)
        if protocol == "paper_eligible":
            filed = {stock.news_dates[k] for k in news}
            if not _eligible(stock, i, filed):
                return None
        return news, 0
    # Tradable: published in the LAG_DAYS days before the previous trading day's close;
    # date-only items dated up to that day count as published at the end of their date.
    cut = float(stock.closes[i - 1])
    prev_day = stock.dates[i - 1]
    timed = index.published(cut - LAG_DAYS * 86400.0, cut)
    dated = index.dated_only(prev_day - dt.timedelta(days=LAG_DAYS - 1), prev_day)
    return np.concatenate([timed, dated]), len(dated)


def build_samples(stocks: Sequence[StockData], splits: Splits, protocol: str) -> Samples:
    """The samples of `protocol` (see the module docstring) over `stocks`."""
    drop = protocol != "tradable"
    out = Samples()
    for stock in stocks:
        out.stocks[stock.symbol] = stock
        index = _NewsIndex(stock)
        for i in range(1, len(stock.dates)):
            day = stock.dates[i]
            part = splits.split(day)
            returns = _window_returns(stock.adj_close, i)
            if part is None or returns is None:
                continue
            move = stock.adj_close[i] / stock.adj_close[i - 1] - 1.0
            if drop and DROP_LOW <= move < DROP_HIGH:
                continue
            read = _news(stock, index, i, protocol)
            if read is None:
                continue
            news, dated = read
            out.symbol.append(stock.symbol)
            out.date.append(day)
            out.split.append(part)
            out.label.append(int(move >= DROP_HIGH) if drop else int(move >= 0.0))
            out.move.append(float(move))
            out.returns.append(returns)
            out.text.append(" ".join(stock.news_texts[k] for k in news))
            out.n_news.append(len(news))
            out.n_dated_only += dated
            out.row.append(i)
            out.news.append(news)
    return out
