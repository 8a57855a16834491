"""`kdtcn evaluate`: the inputs of every ablation from stored data, then the one harness.

Everything fitted is fitted on the training period only: the KG-driven embeddings and the
KG-free event embeddings are trained on event triples of headlines dated up to the train
end (plus the WD40k facts for the former), the word input (LSA) on those headlines. The
sentence embeddings (all-MiniLM-L6-v2) and VADER's lexicon are fixed, pre-trained on other
text; nothing of them is fitted here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing as mp
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.daily import collect_days
from app.services.embeddings import build_embeddings
from app.services.prices import load_prices
from app.tables import Headline
from evaluation.folds import EvalConfig
from evaluation.harness import run_evaluation
from kg.embed import EventEmbedder
from models.features import price_features
from models.fitting import PriceHistory
from models.inputs import DEFAULT_RANK, assign_days, event_rows, event_set_rows
from models.text.sentences import SentenceEncoder, daily_text_rows, vader_features
from models.text.words import HeadlineLSA

__all__ = ["evaluation_inputs", "evaluate_dataset", "input_digests"]


SENTENCE_MAX_RANK = 10  # MiniLM encodes the 10 most popular headlines of a day (77% of
# the 1/rank pooling weight of 25) to keep `kdtcn evaluate` within its time budget


def _headline_channels(
    session: Session,
    dates: list[dt.date],
    train_end: dt.date,
    cache_dir: Path,
    say: Callable[[str], None],
) -> dict[str, np.ndarray]:
    """Per-trading-day text inputs pooled by rank (models.text.sentences.daily_text_rows): LSA
    ("words", fitted on training-period headlines), VADER sentiment ("vader"), MiniLM
    sentence embeddings ("sentences", cached on disk), and the headline count ("news")."""
    rows = session.execute(
        select(Headline.date, Headline.rank, Headline.text).order_by(Headline.date, Headline.rank)
    ).all()
    texts = [r.text for r in rows]
    days = [r.date for r in rows]
    ranks = [r.rank for r in rows]
    out: dict[str, np.ndarray] = {}
    lsa = HeadlineLSA().fit([r.text for r in rows if r.date <= train_end])
    out["words"] = daily_text_rows(days, ranks, lsa.transform(texts), dates)
    say("words: LSA (TF-IDF + SVD, 64 dims) fitted on training-period headlines")
    out["vader"] = daily_text_rows(days, ranks, vader_features(texts), dates)
    top = [i for i, r in enumerate(ranks) if (r or DEFAULT_RANK) <= SENTENCE_MAX_RANK]
    started = time.perf_counter()
    encoder = SentenceEncoder()
    vectors = encoder.encode_cached([texts[i] for i in top], cache_dir)
    out["sentences"] = daily_text_rows(
        [days[i] for i in top], [ranks[i] for i in top], vectors, dates
    )
    say(
        f"sentences: all-MiniLM-L6-v2 of {len(top)} headlines of rank <= {SENTENCE_MAX_RANK} "
        f"({encoder.n_encoded} encoded, the rest cached; {time.perf_counter() - started:.0f} s)"
    )
    which = assign_days(days, dates)
    out["news"] = np.bincount(which[which >= 0], minlength=len(dates)).astype(np.float64)
    return out


def evaluation_inputs(
    *,
    session: Session,
    symbol: str,
    graph: Any,
    artifacts: Path,
    train_end: dt.date,
    epochs: int = 25,
    say: Callable[[str], None] = print,
    text: bool = True,
) -> tuple[Any, dict[str, np.ndarray]]:
    """The stored bars of `symbol` (a DataFrame indexed by date) and, per trading day of
    them, every input channel the harness reads, by name: the events embedded with and
    without the KG ("kg_events" and its sets "kg_event_sets", "events_nokg"; embeddings of
    `epochs` epochs trained on events dated up to `train_end`) and, with `text`, the
    headline channels of `_headline_channels`."""
    prices = load_prices(session=session, symbol=symbol)
    dates = [d.date() for d in prices.index]
    inputs: dict[str, np.ndarray] = {}
    for kind, kg_triples in (("kg_events", graph.triples()), ("events_nokg", None)):
        version, emb = build_embeddings(
            session=session,
            kg_triples=kg_triples,
            artifacts=artifacts,
            until=train_end,
            epochs=epochs,
        )
        say(f"{kind}: embeddings {version} ({emb.meta.get('train_seconds')} s)")
        embedder = EventEmbedder(emb, graph=graph if kg_triples else None)
        days = collect_days(session=session, dates=dates, embed=embedder.embed, dim=embedder.dim)
        inputs[kind] = event_rows(days, embedder.dim)
        if kind == "kg_events":  # the same events as sets, for attention pooling
            inputs["kg_event_sets"] = event_set_rows(days, embedder.dim)
    if text:
        inputs.update(
            _headline_channels(session, dates, train_end, artifacts / "cache" / "sentences", say)
        )
    return prices, inputs


def _regression(prices: Any, inputs: dict[str, np.ndarray], config: EvalConfig) -> dict[str, Any]:
    """evaluation.regression.run_regression in a worker process (one torch thread)."""
    from evaluation.regression import RegressionOptions, run_regression

    return run_regression(
        (prices, inputs), config, say=lambda _line: None, options=RegressionOptions(threads=1)
    )


def price_history(data_dir: Path, symbol: str, before: dt.date) -> PriceHistory | None:
    """The bundled daily history of `symbol` before `before` (the first day with news), as
    the pre-training input of the harness; None for a symbol without one."""
    from models.history import HISTORY_SYMBOLS, load_history

    if symbol not in HISTORY_SYMBOLS:
        return None
    bars = load_history(symbol, data_dir, end=before - dt.timedelta(days=1))
    return PriceHistory(
        price_features(bars).to_numpy(np.float32),
        bars["adj_close"].to_numpy(float),
        str(bars.index[0].date()),
        str(bars.index[-1].date()),
    )


def evaluate_dataset(
    *,
    session: Session,
    symbol: str,
    graph: Any,
    artifacts: Path,
    config: EvalConfig,
    progress: Callable[[str], None],
    say: Callable[[str], None],
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """`run_evaluation` (and next_close's `run_regression`) on the stored data of `symbol`;
    with `data_dir`, the bundled price history before the news pre-trains the models that
    ask for it. The regression runs in a "spawn" worker process, which imports the calling
    script's main module again: a script that calls this needs the usual
    `if __name__ == "__main__":` guard (the `kdtcn` command has it)."""
    prices, inputs = evaluation_inputs(
        session=session,
        symbol=symbol,
        graph=graph,
        artifacts=artifacts,
        train_end=dt.date.fromisoformat(config.train_end),
        say=say,
    )
    history = None
    if data_dir is not None:
        history = price_history(data_dir, symbol, prices.index[0].date())
        if history is not None:
            say(f"price history for pre-training: {history.first}..{history.last}")
    # next_close's regression runs beside the classifiers in a second process, each on one
    # core with one torch thread (small networks: two threads per process only contend).
    threads = torch.get_num_threads()
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        regression = pool.submit(_regression, prices, inputs, config) if config.regression else None
        torch.set_num_threads(1)
        try:
            result = run_evaluation(
                prices, inputs, config=config, progress=progress, history=history
            )
        finally:
            torch.set_num_threads(threads)
        if regression is not None:
            say("next_close: waiting for the regression process")
            result["regression"] = regression.result()
            # next_close's own search sits beside the classifiers' (models/tuned.json)
            result["tuning"].update(result["regression"].get("tuning", {}))
    result["protocol"]["symbol"] = symbol
    result["protocol"]["inputs"] = {
        k: int(v.shape[1]) if v.ndim == 2 else 1 for k, v in inputs.items()
    }
    # Where two runs depart, stage by stage: the digest of every input the models read
    result["protocol"]["input_digests"] = input_digests(prices, inputs)
    return result


def input_digests(prices: Any, inputs: dict[str, np.ndarray]) -> dict[str, str]:
    """sha256 (16 hex digits) of the price frame and of each input array, as read."""

    def digest(array: np.ndarray) -> str:
        return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]

    out = {"prices": digest(prices.to_numpy(np.float64))}
    out.update({name: digest(rows) for name, rows in sorted(inputs.items())})
    return out
