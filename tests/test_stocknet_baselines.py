"""The StockNet baselines (evaluation.stocknet_baselines) on small synthetic universes whose
answer is known: ARIMA finds a serial dependence and reads no later return; the news rows
(VADER, MiniLM, TF-IDF) find news whose tone decides the move."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from evaluation.stocknet import run_protocols
from evaluation.stocknet_baselines import baselines
from evaluation.stocknet_samples import Splits, build_samples
from models.calendar import is_trading_day, session_close
from models.universe_data import StockData

DAYS = [d.date() for d in pd.bdate_range("2015-01-02", "2015-08-31") if is_trading_day(d.date())]
SPLITS = Splits(
    start=dt.date(2015, 1, 12),
    train_end=dt.date(2015, 6, 1),
    dev_end=dt.date(2015, 6, 20),
    test_end=dt.date(2015, 9, 1),
)
GOOD = [
    "great earnings, shares surge on strong growth",
    "record profit and a raised outlook, a wonderful quarter",
    "analysts love the excellent new product",
]
BAD = [
    "terrible loss, shares plunge on weak sales",
    "profit warning and a lawsuit, an awful quarter",
    "analysts hate the disappointing recall",
]


def _stock(symbol: str, returns: np.ndarray, news: list[tuple[float, str]] = ()) -> StockData:  # type: ignore[assignment]
    adj = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns[1:])]))
    return StockData(
        symbol=symbol,
        dates=DAYS,
        adj_close=adj,
        closes=np.array([session_close(d).timestamp() for d in DAYS]),
        news_dates=[dt.datetime.fromtimestamp(t, dt.UTC).date() for t, _ in news],
        news_times=np.array([t for t, _ in news], dtype=np.float64),
        news_texts=[text for _, text in news],
    )


def _scores(stocks: list[StockData], name: str, protocol: str = "tradable") -> tuple:  # type: ignore[type-arg]
    samples = build_samples(stocks, SPLITS, protocol)
    y = np.array(samples.label)
    train = samples.mask("train")
    calls, score = baselines()[name](samples, train, y)
    return samples, y, calls, score


def test_arima_finds_mean_reversion_and_reads_no_later_return() -> None:
    rng = np.random.default_rng(0)
    stocks = []
    for k, symbol in enumerate(("AAA", "BBB")):
        r = np.zeros(len(DAYS))
        shocks = rng.normal(0, 0.01, len(DAYS))
        for i in range(1, len(DAYS)):
            r[i] = -0.6 * r[i - 1] + shocks[i] + 0.0002 * k
        stocks.append(_stock(symbol, r))
    samples, y, calls, score = _scores(stocks, "ARIMA(1,0,1), returns")
    test = samples.mask("test")
    accuracy = np.mean(calls[test] == y[test])
    assert accuracy > 0.65, accuracy  # an AR(1) of -0.6 is well predicted; chance is 0.5
    assert np.corrcoef(score[test], np.array(samples.move)[test])[0, 1] > 0.4

    # Prices from a test day on scrambled: the forecasts of every earlier day are unchanged.
    cut = next(i for i, d in enumerate(DAYS) if d >= dt.date(2015, 7, 15))
    scrambled = []
    for stock in stocks:
        adj = stock.adj_close.copy()
        adj[cut:] = rng.permutation(adj[cut:]) * 3.0
        scrambled.append(_stock(stock.symbol, np.zeros(len(DAYS))))
        scrambled[-1].adj_close = adj
    again, _, _, score2 = _scores(scrambled, "ARIMA(1,0,1), returns")
    assert again.row == samples.row and again.symbol == samples.symbol
    before = np.array(samples.row) <= cut
    assert np.array_equal(score[before], score2[before])
    assert not np.array_equal(score[~before], score2[~before])


def _news_universe() -> list[StockData]:
    """Two stocks with an item every calendar day at 15:00 New York (five in a tradable
    window), each good or bad at random, and each day's move up exactly when most items of
    its window are good."""
    rng = np.random.default_rng(1)
    stocks = []
    first, last = DAYS[0] - dt.timedelta(days=7), DAYS[-1]
    for symbol in ("AAA", "BBB"):
        news = []
        day = first
        while day <= last:
            at = pd.Timestamp(day.isoformat() + " 15:00", tz="America/New_York").timestamp()
            good = bool(rng.random() < 0.5)
            news.append((at, str(rng.choice(GOOD if good else BAD))))
            day += dt.timedelta(days=1)
        stock = _stock(symbol, np.zeros(len(DAYS)), news)
        samples = build_samples([stock], SPLITS, "tradable")
        returns = np.zeros(len(DAYS))
        for i, items in zip(samples.row, samples.news, strict=True):
            assert len(items) in (5, 6)  # six across a change of daylight saving time
            n_good = sum(stock.news_texts[k] in GOOD for k in items)
            returns[i] = 0.01 if n_good > len(items) / 2 else -0.01
        stocks.append(_stock(symbol, returns, news))
    return stocks


def test_news_rows_read_the_tone_of_the_windows_news(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models.text.sentences import SentenceEncoder

    stocks = _news_universe()
    encoder = SentenceEncoder()
    out = run_protocols(
        stocks,
        SPLITS,
        sentences=lambda texts: encoder.encode_cached(texts, tmp_path / "cache"),
    )
    models = out["tradable"]["models"]
    assert abs(models["always up"]["accuracy"] - 0.5) < 0.2
    for name in (
        "VADER logistic regression, news",
        "MiniLM logistic regression, news",
        "TF-IDF logistic regression, news",
    ):
        assert models[name]["accuracy"] > 0.9, (name, models[name])
    assert models["reversal"]["accuracy"] < 0.8  # prices alone do not know the news
    # The six distinct texts were encoded once for the four protocols.
    assert encoder.n_encoded == len(GOOD) + len(BAD)
    assert "MiniLM logistic regression, news" not in baselines()
