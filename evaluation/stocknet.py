"""The ACL18 StockNet benchmark's protocols and baselines, on plain arrays (any universe).

Three protocols build their samples from the same stocks, prices and news:

- `paper_all`: the paper's (Xu & Cohen 2018, github yumoxu/stocknet-code `src/DataPipe.py`).
  Target day D of a stock is every trading day in a split; its move is D's adjusted close
  against the stock's previous trading day's; moves in [-0.5%, +0.55%) are dropped; the news
  is the stock's items filed on the 5 calendar days before D (upstream files cut at about
  18:00 New York time, so two hours after D-1's close are in, and weekend files too).
- `paper_eligible`: `paper_all` where every trading day of the lag window (the trading days
  of the 4 calendar days before D, and D) has at least one item filed before it and after
  the window day before it (`is_eligible`): the samples of the paper's published table.
- `tradable`: every trading day D of every stock (a trader cannot drop small moves in
  advance), up when D closes at or above the previous close, from the news published in the
  5 days before the previous trading day's close (16:00 New York, from the exchange
  calendar): a prediction made at that close. `tradable_paper_labels` is the same news with
  the paper's label rule and drop band.

Splits (the paper's by default): train [start, train_end), development [train_end, dev_end),
test [dev_end, test_end). Every model is fitted on train only with fixed settings (nothing is
chosen on development or test days); a decision cut is chosen on training samples
(models.metrics.decision_cut). Intervals: a bootstrap that resamples test dates, every stock
of a drawn date together (arch's IIDBootstrap over the dates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluation.stocknet_stats import cross_section, intervals
from models.metrics import decision_cut, fast_mcc

__all__ = [
    "PUBLISHED",
    "Splits",
    "StockData",
    "Samples",
    "build_samples",
    "run_protocols",
]

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


@dataclass
class Samples:
    """A protocol's samples: stock, target day, split, label, the last returns before the
    day, the window's news texts, and how many of them were date-only."""

    symbol: list[str] = field(default_factory=list)
    date: list[dt.date] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    move: list[float] = field(default_factory=list)  # D's return, close to close
    returns: list[np.ndarray] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    n_news: list[int] = field(default_factory=list)
    n_dated_only: int = 0

    def mask(self, split: str) -> np.ndarray:
        """Which samples are in `split`."""
        return np.array([s == split for s in self.split], dtype=bool)


# The paper's published rows (Table 1 of Xu & Cohen 2018 on `paper_eligible`; Adv-ALSTM,
# Feng et al. IJCAI 2019, on `paper_all`), all on the full 88 stocks: published, not
# reproduced here.
PUBLISHED: dict[str, dict[str, Any]] = {
    "paper_eligible": {
        "test_set": "1,008 test samples of the 88 stocks (always-up 57.44%)",
        "rows": {
            "HedgeFundAnalyst (StockNet, text + prices)": (0.5823, 0.0808),
            "FundamentalAnalyst (StockNet, text)": (0.5823, 0.0717),
            "HAN (Hu et al. 2018)": (0.5764, 0.0518),
            "TechnicalAnalyst (StockNet, prices)": (0.5496, 0.0165),
            "ARIMA": (0.5139, -0.0206),
        },
    },
    "paper_all": {
        "test_set": "3,720 test samples of the 88 stocks (always-up 51.29%)",
        "rows": {"Adv-ALSTM (Feng et al. 2019, prices)": (0.5720, 0.148)},
    },
}


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
    return out


Scored = tuple[np.ndarray, np.ndarray | None]  # calls, and scores that rank (or None)
Scorer = Callable[[Samples, np.ndarray, np.ndarray], Scored]


def _always_up(samples: Samples, train: np.ndarray, _y: np.ndarray) -> Scored:
    return np.ones(len(samples.label), dtype=np.int64), None


def _reversal(samples: Samples, train: np.ndarray, _y: np.ndarray) -> Scored:
    """Up when the last day before D fell (scored by minus that return)."""
    last = np.array([r[-1] for r in samples.returns], dtype=np.float64)
    return (last < 0).astype(np.int64), -last


def _fitted_calls(p: np.ndarray, train: np.ndarray, y: np.ndarray) -> np.ndarray:
    cut = decision_cut(p[train], y[train])
    return (p >= cut).astype(np.int64)


def _returns_lr(samples: Samples, train: np.ndarray, y: np.ndarray) -> Scored:
    """Logistic regression on the last 5 daily log returns, standardised on train."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.stack(samples.returns)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(x[train], y[train])
    p = model.predict_proba(x)[:, 1]
    return _fitted_calls(p, train, y), p


def _tfidf_lr(samples: Samples, train: np.ndarray, y: np.ndarray) -> Scored:
    """Logistic regression on TF-IDF of the window's news (unigrams and bigrams seen in at
    least 5 training windows, sublinear counts), fitted on train."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = np.array(samples.text, dtype=object)
    vectorizer = TfidfVectorizer(
        min_df=5, ngram_range=(1, 2), sublinear_tf=True, max_features=50_000
    )
    x_train = vectorizer.fit_transform(texts[train])
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(x_train, y[train])
    p = model.predict_proba(vectorizer.transform(texts))[:, 1]
    return _fitted_calls(p, train, y), p


BASELINES: dict[str, Scorer] = {
    "always up": _always_up,
    "reversal": _reversal,
    "logistic regression, last 5 returns": _returns_lr,
    "TF-IDF logistic regression, news": _tfidf_lr,
}


def _seed_figures(
    probs: np.ndarray, train: np.ndarray, test: np.ndarray, y: np.ndarray
) -> list[float]:
    """Each seed's own test MCC (its own cut on training samples)."""
    return [
        fast_mcc(y[test], _fitted_calls(probs[:, k], train, y)[test]) for k in range(probs.shape[1])
    ]


def _score(
    samples: Samples,
    seed: int,
    neural: dict[str, dict[tuple[str, dt.date], np.ndarray]] | None = None,
    cross: bool = False,
) -> dict[str, Any]:
    """Every baseline fitted on train, and the network rows' P(up) (`neural`: row ->
    (symbol, date) -> per-seed P(up), cut on this protocol's training samples), scored on
    development and test; with `cross`, each ranking score's cross-section on test days."""
    y = np.array(samples.label, dtype=np.int64)
    train, dev, test = (samples.mask(s) for s in ("train", "dev", "test"))
    scored = {name: fn(samples, train, y) for name, fn in BASELINES.items()}
    seeds: dict[str, list[float]] = {}
    keys = list(zip(samples.symbol, samples.date, strict=True))
    for name, by_key in (neural or {}).items():
        probs = np.stack([by_key[k] for k in keys])
        p = probs.mean(axis=1)
        scored[name] = (_fitted_calls(p, train, y), p)
        seeds[name] = _seed_figures(probs, train, test, y)
    calls = {name: c for name, (c, _) in scored.items()}
    test_dates = [d for d, t in zip(samples.date, test, strict=True) if t]
    spread, compared = intervals(test_dates, y[test], {m: c[test] for m, c in calls.items()}, seed)
    moves = np.array(samples.move)
    test_symbols = [s for s, t in zip(samples.symbol, test, strict=True) if t]
    models = {}
    for name, (c, score) in scored.items():
        row: dict[str, Any] = {
            "accuracy": float(np.mean(c[test] == y[test])),
            "mcc": fast_mcc(y[test], c[test]),
            "accuracy_interval": spread[name]["accuracy"],
            "mcc_interval": spread[name]["mcc"],
            "dev_accuracy": float(np.mean(c[dev] == y[dev])) if dev.any() else None,
            "dev_mcc": fast_mcc(y[dev], c[dev]) if dev.any() else None,
            "share_up": float(np.mean(c[test])),
        }
        if name in seeds:
            row["seed_mcc"] = seeds[name]
        if cross and score is not None:
            row["cross_section"] = cross_section(
                test_dates, test_symbols, score[test], moves[test], seed
            )
        models[name] = row
    return {
        "n": int(test.sum()),
        "n_train": int(train.sum()),
        "n_dev": int(dev.sum()),
        "n_test_dates": len(set(test_dates)),
        "n_stocks": len(set(test_symbols)),
        "always_up": float(np.mean(y[test])),
        "test_with_news": float(np.mean(np.array(samples.n_news)[test] > 0)),
        "dated_only_items_read": samples.n_dated_only,
        "models": models,
        "comparisons": compared,
    }


PROTOCOLS = ("tradable", "tradable_paper_labels", "paper_all", "paper_eligible")
FITTED_ON = {"tradable": "tradable", "paper": "paper_all"}  # a network family's samples


def run_protocols(
    stocks: Sequence[StockData],
    splits: Splits,
    *,
    neural: Any | None = None,
    seed: int = 0,
    say: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Samples, baselines, network rows (with `neural`, an evaluation.stocknet_neural.
    NeuralInputs) and intervals of every protocol, with the published rows."""
    from evaluation.stocknet_neural import family_of, fit_family

    out: dict[str, Any] = {}
    fitted: dict[str, dict[str, dict[tuple[str, dt.date], np.ndarray]]] = {}
    for protocol in PROTOCOLS:
        samples = build_samples(stocks, splits, protocol)
        if not any(s == "test" for s in samples.split) or not any(
            s == "train" for s in samples.split
        ):
            # A sparse universe can leave a protocol empty (the paper's eligibility needs news
            # on every day of a window): it is reported as such, the others still run.
            out[protocol] = {"n": 0, "skipped": "no training or no test samples"}
            say(f"{protocol}: no training or no test samples in these dates; skipped")
            continue
        family = family_of(protocol)
        if neural is not None and FITTED_ON[family] == protocol:
            fitted[family] = fit_family(stocks, samples, family, splits.train_end, neural, say=say)
        out[protocol] = _score(samples, seed, fitted.get(family), cross=protocol == "tradable")
        if protocol in PUBLISHED:
            out[protocol]["published"] = PUBLISHED[protocol]
        say(f"{protocol}: {out[protocol]['n']} test samples")
    if all(block.get("skipped") for block in out.values()):
        raise ValueError("no protocol has training and test samples in these dates")
    return out
