"""`kdtcn evaluate`: the inputs of every ablation from stored data, then the one harness.

Everything fitted is fitted on the training period only: the KG-driven embeddings and the
KG-free event embeddings are trained on event triples of headlines dated up to the train
end (plus the WD40k facts for the former), the word input (LSA) on those headlines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.daily import collect_days
from app.services.embeddings import build_embeddings
from app.services.prices import load_prices
from app.tables import Headline
from kg.embed import EventEmbedder
from kg.words import HeadlineLSA
from models.evaluate import EvalConfig, run_evaluation
from models.inputs import DEFAULT_RANK, assign_days, event_rows, pool_events

__all__ = ["evaluation_inputs", "evaluate_dataset"]


def _word_rows(session: Session, dates: list[dt.date], train_end: dt.date) -> np.ndarray:
    rows = session.execute(
        select(Headline.date, Headline.rank, Headline.text).order_by(Headline.date, Headline.rank)
    ).all()
    lsa = HeadlineLSA().fit([r.text for r in rows if r.date <= train_end])
    vectors = lsa.transform([r.text for r in rows])
    out = np.zeros((len(dates), lsa.dim), np.float32)
    which = assign_days([r.date for r in rows], dates)
    ranks = np.array([r.rank or DEFAULT_RANK for r in rows])
    for i in range(len(dates)):
        mine = np.flatnonzero(which == i)
        if len(mine):
            out[i] = pool_events(vectors[mine], ranks[mine])
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
) -> tuple[Any, dict[str, np.ndarray]]:
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
    inputs["words"] = _word_rows(session, dates, train_end)
    say("words: LSA (TF-IDF + SVD, 64 dims) fitted on training-period headlines")
    return prices, inputs


def evaluate_dataset(
    *,
    session: Session,
    symbol: str,
    graph: Any,
    artifacts: Path,
    config: EvalConfig,
    progress: Callable[[str], None],
    say: Callable[[str], None],
) -> dict[str, Any]:
    prices, inputs = evaluation_inputs(
        session=session,
        symbol=symbol,
        graph=graph,
        artifacts=artifacts,
        train_end=dt.date.fromisoformat(config.train_end),
        say=say,
    )
    result = run_evaluation(prices, inputs, config=config, progress=progress)
    result["protocol"]["symbol"] = symbol
    result["protocol"]["inputs"] = {k: int(v.shape[1]) for k, v in inputs.items()}
    return result
