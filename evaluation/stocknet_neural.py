"""The StockNet evaluation's network rows: one network across the universe's stocks
(models.universe), fitted per protocol family on its training samples, three seeds each.

Rows (each reads the last WINDOW trading rows before the target day):
* "TCN, prices": each stock's price features, normalised per stock on training rows;
* "TCN + text (LSA, no graph)": and its news as text: TF-IDF of each item, reduced by SVD to
  TEXT_DIM, both fitted on items dated before the end of training;
* "KDTCN": and its news as events embedded with the knowledge graph (TransE on WD40k, the
  companies' facts and the training days' event triples; kg.event_vectors.EventEmbedder);
* "KDTCN + related stocks": and its related stocks' events (kg.companies.relations) through
  attention that reads the relation;
* the seed tutorials' networks (models.zoo.TUTORIAL_NETS: RNN, LSTM, stacked LSTM, GRU,
  BiLSTM, 1-D CNN), each as "<name>, prices": the TCN's price rows, pooled samples and
  settings, with the tutorial's encoder in place of the TCN (models.networks.ENCODERS).

Which row a news item belongs to, by family (models.universe_data): tradable, by the close
after its publication, so a sample of day D reads what was published before D-1's close;
paper, by the upstream file, so the sample of D reads the files of days before D.

The tradable family is fitted on the tradable protocol's training samples and scores
`tradable` and `tradable_paper_labels` (whose samples are the tradable ones outside the drop
band, with the same labels); the paper family is fitted on `paper_all`'s and scores
`paper_all` and `paper_eligible`. A family's rows are the mean P(up) of its seeds' fits
(SEEDS by default); each seed's own figures are its spread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np

from models.universe import UniverseTables, fit_universe, predict_universe
from models.universe_data import (
    NeuralInputs,
    fit_scales,
    item_means,
    on_calendar,
    universe_tables,
)
from models.zoo import NEURAL_MODELS, TUTORIAL_NETS

__all__ = ["NEURAL_ROWS", "TUTORIAL_ROWS", "family_of", "fit_family"]

TEXT_DIM = 64
KDTCN = "KDTCN"
# row -> (item channel, related stocks, encoder)
NEURAL_ROWS: dict[str, tuple[str | None, bool, str]] = {
    "TCN, prices": (None, False, "tcn"),
    "TCN + text (LSA, no graph)": ("text", False, "tcn"),
    KDTCN: ("kg", False, "tcn"),
    "KDTCN + related stocks": ("kg", True, "tcn"),
}
TUTORIAL_ROWS = tuple(f"{name}, prices" for name in TUTORIAL_NETS)
NEURAL_ROWS.update(
    {
        row: (None, False, NEURAL_MODELS[name].encoder)
        for row, name in zip(TUTORIAL_ROWS, TUTORIAL_NETS, strict=True)
    }
)


def family_of(protocol: str) -> str:
    """The family whose fitted networks score `protocol`."""
    return "paper" if protocol.startswith("paper") else "tradable"


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


def fit_family(
    stocks: Sequence,  # type: ignore[type-arg]
    samples,  # type: ignore[no-untyped-def]
    family: str,
    train_end: dt.date,
    inputs: NeuralInputs,
    *,
    rows: Sequence[str] = tuple(NEURAL_ROWS),
    say: Callable[[str], None] = lambda _line: None,
) -> dict[str, dict[tuple[str, dt.date], np.ndarray]]:
    """Fit the network `rows` (all of NEURAL_ROWS by default) on `samples`' training samples
    and score every sample: row -> (symbol, date) -> P(up) of each seed (len(SEEDS),)."""
    where = {s.symbol: k for k, s in enumerate(stocks)}
    stock_idx = np.array([where[s] for s in samples.symbol], np.int64)
    text = _text_vectors(stocks, train_end)
    stocks, row_of = on_calendar(stocks)  # row i is the same day for every stock
    day = np.array([row_of[d] for d in samples.date], np.int64)
    y = np.array(samples.label, np.float32)
    train = samples.mask("train")
    t = len(stocks[0].dates)
    channels: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if any(NEURAL_ROWS[name][0] == "text" for name in rows):
        channels["text"] = item_means(stocks, text, family, t)
    if inputs.kg_vectors:
        channels["kg"] = item_means(stocks, inputs.kg_vectors, family, t)
    out: dict[str, dict[tuple[str, dt.date], np.ndarray]] = {}
    keys = list(zip(samples.symbol, samples.date, strict=True))
    by_channel: dict[str | None, UniverseTables] = {}  # the rows of a channel share its tables
    for name in rows:
        channel, use_related, encoder = NEURAL_ROWS[name]
        if channel is not None and channel not in channels:
            continue
        if channel not in by_channel:
            means, counts = channels[channel] if channel else (None, None)
            scales = fit_scales(stocks, train_end, means)
            by_channel[channel] = universe_tables(
                stocks, scales, means=means, counts=counts, related=inputs.related, rows=t
            )
        tables = by_channel[channel]
        probs = []
        for seed in inputs.seeds:
            net = fit_universe(
                tables,
                stock_idx[train],
                day[train],
                y[train],
                use_events=channel is not None,
                use_related=use_related,
                config=inputs.config,
                seed=seed,
                encoder=encoder,
            )
            probs.append(predict_universe(net, stock_idx, day))
        stacked = np.stack(probs, axis=1)
        out[name] = {k: stacked[j] for j, k in enumerate(keys)}
        say(f"{family}: {name} fitted ({len(inputs.seeds)} seeds)")
    return out
