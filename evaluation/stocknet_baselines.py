"""The StockNet protocols' baselines (evaluation.stocknet): each is fitted on a protocol's
training samples with fixed settings and gives every sample a call and, where it ranks, a
score.

- always up; reversal (up when the last day fell);
- ARIMA(1,0,1) on each stock's daily log returns, fitted on the stock's training period,
  parameters frozen, one-step forecasts filtered through the returns up to the day before
  (models.regression, as the demo's ARIMA rows); the forecast is the score, cut on training
  samples (the paper's ARIMA row is this model family);
- logistic regression on the last 5 returns;
- logistic regression on the window's news: TF-IDF of the joined texts; VADER's four
  sentiment scores averaged over the window's items; all-MiniLM-L6-v2 sentence vectors
  averaged over the items (with `sentences`, an encoder of texts; the vectors are cached on
  disk by the caller). An item's text is read as stored (tweets keep their URLs and
  cashtags); a window without news reads zeros and a no-news flag.

Every fit reads training samples only; the decision cut of a probability is chosen on
training samples (models.metrics.decision_cut).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from models.metrics import decision_cut

if TYPE_CHECKING:
    from evaluation.stocknet_samples import Samples

__all__ = ["Encoder", "Scored", "Scorer", "baselines", "fitted_calls"]

Scored = tuple[np.ndarray, np.ndarray | None]  # calls, and scores that rank (or None)
Scorer = Callable[["Samples", np.ndarray, np.ndarray], Scored]
Encoder = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, d) float vectors


def fitted_calls(p: np.ndarray, train: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Calls of the scores `p` at the cut chosen on the training samples."""
    cut = decision_cut(p[train], y[train])
    return (p >= cut).astype(np.int64)


def _always_up(samples: Samples, train: np.ndarray, _y: np.ndarray) -> Scored:
    return np.ones(len(samples.label), dtype=np.int64), None


def _reversal(samples: Samples, train: np.ndarray, _y: np.ndarray) -> Scored:
    """Up when the last day before D fell (scored by minus that return)."""
    last = np.array([r[-1] for r in samples.returns], dtype=np.float64)
    return (last < 0).astype(np.int64), -last


def _arima(samples: Samples, train: np.ndarray, y: np.ndarray) -> Scored:
    """Per stock, ARIMA(1,0,1) fitted on the log returns of its training period (the rows
    from its first to its last training sample), parameters frozen: each sample's one-step
    forecast of its day's return, filtered through the returns up to the day before."""
    from models.regression import arima_returns

    rows = np.asarray(samples.row)
    symbols = np.asarray(samples.symbol)
    forecast = np.zeros(len(rows))
    for symbol in dict.fromkeys(samples.symbol):
        mine = symbols == symbol
        fit_rows = rows[mine & train]
        if len(fit_rows) < 30:  # too short a training period to fit: no forecast
            continue
        adj = samples.stocks[symbol].adj_close
        returns = np.concatenate([[np.nan], np.diff(np.log(adj))])
        fit_days = np.arange(int(fit_rows.min()), int(fit_rows.max()) + 1)
        forecast[mine] = arima_returns(returns, fit_days, rows[mine])
    return fitted_calls(forecast, train, y), forecast


def _returns_lr(samples: Samples, train: np.ndarray, y: np.ndarray) -> Scored:
    """Logistic regression on the last 5 daily log returns, standardised on train."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.stack(samples.returns)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(x[train], y[train])
    p = model.predict_proba(x)[:, 1]
    return fitted_calls(p, train, y), p


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
    return fitted_calls(p, train, y), p


def _pooled(samples: Samples, features: dict[str, np.ndarray]) -> np.ndarray:
    """Each sample's items' feature rows averaged (zeros without news), and a no-news flag;
    `features`: symbol -> one row per item of the stock's news."""
    width = next(iter(features.values())).shape[1] if features else 0
    out = np.zeros((len(samples.label), width + 1))
    for k, (symbol, items) in enumerate(zip(samples.symbol, samples.news, strict=True)):
        if len(items):
            out[k, :width] = features[symbol][items].mean(axis=0)
        else:
            out[k, width] = 1.0
    return out


def _item_features(samples: Samples, encode: Encoder) -> dict[str, np.ndarray]:
    """Each stock of `samples` by symbol: `encode` of each item of its news (one call for
    every stock's items)."""
    symbols = list(dict.fromkeys(samples.symbol))
    texts = [text for symbol in symbols for text in samples.stocks[symbol].news_texts]
    if not texts:
        return {symbol: np.zeros((0, 1)) for symbol in symbols}
    vectors = np.asarray(encode(texts), dtype=np.float64)
    ends = np.cumsum([len(samples.stocks[symbol].news_texts) for symbol in symbols])
    return dict(zip(symbols, np.split(vectors, ends[:-1]), strict=True))


def _pooled_lr(encode: Encoder) -> Scorer:
    """Logistic regression (inputs standardised on train, C = 1 as the other rows) on
    `_pooled` item features from `encode`; the items' features are computed once for the
    stocks of a run (its protocols read the same stocks)."""
    memo: dict[tuple[str, ...], dict[str, np.ndarray]] = {}

    def scorer(samples: Samples, train: np.ndarray, y: np.ndarray) -> Scored:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        key = tuple(samples.stocks)
        if key not in memo:
            memo[key] = _item_features(samples, encode)
        x = _pooled(samples, memo[key])
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        model.fit(x[train], y[train])
        p = model.predict_proba(x)[:, 1]
        return fitted_calls(p, train, y), p

    return scorer


def _vader(texts: Sequence[str]) -> np.ndarray:
    from models.text.sentences import vader_features

    return vader_features(texts)


def baselines(sentences: Encoder | None = None) -> dict[str, Scorer]:
    """The baselines by row name, in the report's order; the MiniLM row with `sentences`.
    One set serves a run's protocols: each stock's news is encoded once."""
    rows: dict[str, Scorer] = {
        "always up": _always_up,
        "reversal": _reversal,
        "ARIMA(1,0,1), returns": _arima,
        "logistic regression, last 5 returns": _returns_lr,
        "TF-IDF logistic regression, news": _tfidf_lr,
        "VADER logistic regression, news": _pooled_lr(_vader),
    }
    if sentences is not None:
        rows["MiniLM logistic regression, news"] = _pooled_lr(sentences)
    return rows
