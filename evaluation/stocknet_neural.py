"""The StockNet evaluation's network rows: one network across the universe's stocks
(models.universe), fitted per protocol family on its training samples, three seeds each.

Rows (each reads the last WINDOW trading rows before the target day):
* "TCN, prices": each stock's price features, normalised per stock on training rows;
* "TCN + text (LSA, no graph)": and its news as text: TF-IDF of each item, reduced by SVD to
  TEXT_DIM, both fitted on items dated before the end of training;
* "KDTCN": and its news as events embedded with the knowledge graph (TransE on WD40k, the
  companies' facts and the training days' event triples; kg.event_vectors.EventEmbedder);
* "KDTCN + related stocks": and its related stocks' events (kg.companies.relations) through
  attention that reads the relation.

Which row a news item belongs to, by family:
* tradable: a timed item to the first trading day whose close is after it (a date-only item
  to its date, or the next trading day), so a sample of day D, which reads rows up to D-1,
  reads what was published before D-1's close;
* paper: an item filed on day f to the last trading day before the first trading day after f
  (a Saturday's file to Friday's row), so the sample of D reads the files of days before D.

The tradable family is fitted on the tradable protocol's training samples and scores
`tradable` and `tradable_paper_labels` (whose samples are the tradable ones outside the drop
band, with the same labels); the paper family is fitted on `paper_all`'s and scores
`paper_all` and `paper_eligible`. A family's rows are the mean P(up) of its seeds' fits
(SEEDS by default); each seed's own figures are its spread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.features import Normaliser
from models.universe import UniverseConfig, UniverseTables, fit_universe, predict_universe

__all__ = ["NeuralInputs", "NEURAL_ROWS", "SEEDS", "family_of", "fit_family"]

SEEDS = (0, 1, 2)
TEXT_DIM = 64
KDTCN = "KDTCN"
NEURAL_ROWS = {  # row -> (item channel, related stocks)
    "TCN, prices": (None, False),
    "TCN + text (LSA, no graph)": ("text", False),
    KDTCN: ("kg", False),
    "KDTCN + related stocks": ("kg", True),
}


@dataclass
class NeuralInputs:
    """What the network rows read beyond StockData: each stock's item vectors of the "kg"
    channel (aligned with its news items), and its related stocks with relation features."""

    kg_vectors: Mapping[str, np.ndarray] = field(default_factory=dict)
    related: Mapping[str, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    config: UniverseConfig = field(default_factory=UniverseConfig)
    seeds: tuple[int, ...] = SEEDS


def family_of(protocol: str) -> str:
    """The family whose fitted networks score `protocol`."""
    return "paper" if protocol.startswith("paper") else "tradable"


def _tradable_rows(stock) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Tradable family: each item's row in `stock.dates`, the first trading day whose close
    is after it (a date-only item: its date or the next trading day); -1 after the last."""
    days = np.array(stock.dates, dtype="datetime64[D]")
    filed = np.array(stock.news_dates, dtype="datetime64[D]")
    times = np.asarray(stock.news_times, dtype=np.float64)
    by_time = np.searchsorted(stock.closes, times, side="right")
    by_date = np.searchsorted(days, filed, side="left")
    out = np.where(np.isnan(times), by_date, by_time)
    return np.where(out >= len(days), -1, out)


def _paper_rows(stock) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Paper family: an item filed on f goes to the row before the first trading day after f."""
    days = np.array(stock.dates, dtype="datetime64[D]")
    filed = np.array(stock.news_dates, dtype="datetime64[D]")
    after = np.searchsorted(days, filed, side="right")  # first trading day > f
    return np.where(after >= len(days), -1, after - 1)


def _text_vectors(stocks: Sequence, train_end: dt.date) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    """LSA vectors of every item: TF-IDF and SVD fitted on items dated before `train_end`."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    train_texts = [
        t for s in stocks for d, t in zip(s.news_dates, s.news_texts, strict=True) if d < train_end
    ]
    out: dict[str, np.ndarray] = {}
    if not train_texts:
        return {s.symbol: np.zeros((len(s.news_texts), TEXT_DIM), np.float32) for s in stocks}
    vectorizer = TfidfVectorizer(min_df=5, sublinear_tf=True, max_features=50_000)
    x = vectorizer.fit_transform(train_texts)
    svd = TruncatedSVD(n_components=min(TEXT_DIM, x.shape[1] - 1), random_state=0).fit(x)
    for s in stocks:
        vec = np.zeros((len(s.news_texts), TEXT_DIM), np.float32)
        if s.news_texts:
            v = svd.transform(vectorizer.transform(s.news_texts))
            vec[:, : v.shape[1]] = v
        out[s.symbol] = vec
    return out


def _event_table(
    stocks: Sequence,
    vectors: Mapping[str, np.ndarray],
    family: str,
    train_end: dt.date,  # type: ignore[type-arg]
) -> np.ndarray:
    """(S, T, E + 1): per stock and row the mean vector of its items, standardised on
    training rows that have news (0 on rows without), and log(1 + items)."""
    t_max = max(len(s.dates) for s in stocks)
    dim = next(iter(vectors.values())).shape[1]
    sums = np.zeros((len(stocks), t_max, dim), np.float64)
    counts = np.zeros((len(stocks), t_max), np.float64)
    for k, s in enumerate(stocks):
        vec = vectors[s.symbol]
        if not len(vec):
            continue
        rows = _paper_rows(s) if family == "paper" else _tradable_rows(s)
        ok = (rows >= 0) & ~np.isnan(vec).any(axis=1)  # an item without events: no vector
        np.add.at(sums[k], rows[ok], vec[ok])
        np.add.at(counts[k], rows[ok], 1.0)
    has = counts > 0
    means = np.where(has[..., None], sums / np.maximum(counts, 1.0)[..., None], np.nan)
    train_rows = np.zeros_like(has)
    for k, s in enumerate(stocks):
        n = int(np.searchsorted(np.array(s.dates, "datetime64[D]"), np.datetime64(train_end)))
        train_rows[k, :n] = True
    fit_rows = means[has & train_rows]
    norm = Normaliser.fit(fit_rows if len(fit_rows) else np.zeros((1, dim)))
    table = norm.transform(means.reshape(-1, dim)).reshape(means.shape)
    table[~has] = 0.0
    return np.concatenate([table, np.log1p(counts)[..., None]], axis=-1).astype(np.float32)


def _price_table(stocks: Sequence, train_end: dt.date) -> np.ndarray:  # type: ignore[type-arg]
    """(S, T, P): each stock's price rows normalised on its own training rows."""
    t_max = max(len(s.dates) for s in stocks)
    p = stocks[0].price_rows.shape[1]
    out = np.zeros((len(stocks), t_max, p), np.float32)
    for k, s in enumerate(stocks):
        n = int(np.searchsorted(np.array(s.dates, "datetime64[D]"), np.datetime64(train_end)))
        norm = Normaliser.fit(s.price_rows[: max(n, 2)])
        out[k, : len(s.dates)] = norm.transform(s.price_rows)
    return out


def _related_tables(
    stocks: Sequence,
    related: Mapping[str, list[tuple[str, np.ndarray]]],  # type: ignore[type-arg]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S, K) related indices, (S, K, F) relation features and (S, K) mask, padded."""
    where = {s.symbol: k for k, s in enumerate(stocks)}
    lists = [[(where[r], f) for r, f in related.get(s.symbol, []) if r in where] for s in stocks]
    k_max = max(1, max(len(x) for x in lists))
    f_dim = next((len(f) for x in lists for _, f in x), 1)
    idx = np.zeros((len(stocks), k_max), np.int64)
    feats = np.zeros((len(stocks), k_max, f_dim), np.float32)
    mask = np.zeros((len(stocks), k_max), bool)
    for k, x in enumerate(lists):
        for j, (r, f) in enumerate(x):
            idx[k, j], feats[k, j], mask[k, j] = r, f, True
    return idx, feats, mask


def fit_family(
    stocks: Sequence,  # type: ignore[type-arg]
    samples,  # type: ignore[no-untyped-def]
    family: str,
    train_end: dt.date,
    inputs: NeuralInputs,
    *,
    say: Callable[[str], None] = lambda _line: None,
) -> dict[str, dict[tuple[str, dt.date], np.ndarray]]:
    """Fit every network row on `samples`' training samples and score every sample:
    row -> (symbol, date) -> P(up) of each seed (len(SEEDS),)."""
    where = {s.symbol: k for k, s in enumerate(stocks)}
    row_of = {(s.symbol, d): i for s in stocks for i, d in enumerate(s.dates)}
    stock_idx = np.array([where[s] for s in samples.symbol], np.int64)
    rows = np.array([row_of[(s, d)] for s, d in zip(samples.symbol, samples.date, strict=True)])
    y = np.array(samples.label, np.float32)
    train = samples.mask("train")
    prices = _price_table(stocks, train_end)
    channels: dict[str, np.ndarray] = {}
    if any(c == "text" for c, _ in NEURAL_ROWS.values()):
        channels["text"] = _event_table(stocks, _text_vectors(stocks, train_end), family, train_end)
    if inputs.kg_vectors:
        channels["kg"] = _event_table(stocks, inputs.kg_vectors, family, train_end)
    related = _related_tables(stocks, inputs.related)
    out: dict[str, dict[tuple[str, dt.date], np.ndarray]] = {}
    keys = list(zip(samples.symbol, samples.date, strict=True))
    for name, (channel, use_related) in NEURAL_ROWS.items():
        if channel is not None and channel not in channels:
            continue
        tables = UniverseTables(
            prices=prices,
            events=channels.get(channel) if channel else None,
            related=related[0],
            relation=related[1],
            related_mask=related[2],
        )
        probs = []
        for seed in inputs.seeds:
            net = fit_universe(
                tables,
                stock_idx[train],
                rows[train],
                y[train],
                use_events=channel is not None,
                use_related=use_related,
                config=inputs.config,
                seed=seed,
            )
            probs.append(predict_universe(net, stock_idx, rows))
        stacked = np.stack(probs, axis=1)
        out[name] = {k: stacked[j] for j, k in enumerate(keys)}
        say(f"{family}: {name} fitted ({len(inputs.seeds)} seeds)")
    return out
