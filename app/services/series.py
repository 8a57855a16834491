"""A symbol's whole stored series as model inputs, for training: its bars' price features,
its adjusted closes and, for event models, each trading day's embedded events under an
embedding built only from data up to a given day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.services.daily import collect_days
from app.services.embeddings import build_embeddings, embeddings_dir
from app.services.prices import load_prices
from kg.embed import EventEmbedder, KGEmbeddings
from models.features import price_features
from models.sources import Inputs

__all__ = ["Series", "choose_embedding", "load_series"]


@dataclass
class Series:
    """A symbol's whole stored series as model inputs (rows are trading days; each trading
    day's embedded events beside its bar, for event models)."""

    inputs: Inputs
    close: np.ndarray  # adjusted closes: the labels of every target come from them
    embedding_version: str | None
    embedding_until: dt.date | None

    @property
    def dates(self) -> list[dt.date]:
        """The trading days, oldest first."""
        return self.inputs.dates


def choose_embedding(
    *,
    session: Session,
    artifacts: Path,
    graph: Any,
    until: dt.date,
    embedding_version: str | None = None,
    epochs: int = 25,
    progress: Callable[[int, int, float], None] | None = None,
    symbol: str | None = None,
) -> tuple[str, KGEmbeddings]:
    """An embedding built only from data dated up to `until`: the one named (checked), or
    the one `build_embeddings` builds or reuses for exactly that date and `symbol`'s news."""
    if embedding_version is not None:
        emb = KGEmbeddings.load(embeddings_dir(artifacts) / embedding_version)
        built_until = emb.meta.get("until")
        if built_until is None or dt.date.fromisoformat(built_until) > until:
            raise ValueError(
                f"embedding {embedding_version} was built from events up to "
                f"{built_until or 'the newest stored'}, after the cut {until}; name one built "
                f"up to {until} or earlier, or leave --embedding out to build one"
            )
        return embedding_version, emb
    return build_embeddings(
        session=session,
        kg_triples=graph.triples(),
        artifacts=artifacts,
        until=until,
        epochs=epochs,
        progress=progress,
        symbol=symbol,
    )


def load_series(
    *,
    session: Session,
    artifacts: Path,
    graph: Any,
    symbol: str,
    events: bool,
    embedding_until: dt.date,
    end: dt.date | None = None,
    embedding_version: str | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> Series:
    """Price rows, labels and (for event models) pooled event rows of every trading day up
    to `end`, with an embedding built from data up to `embedding_until`."""
    prices = load_prices(session=session, symbol=symbol, end=end)
    dates = [d.date() for d in prices.index]
    days = None
    dim = 0
    version = None
    if events:
        version, emb = choose_embedding(
            session=session,
            artifacts=artifacts,
            graph=graph,
            until=embedding_until,
            embedding_version=embedding_version,
            progress=progress,
            symbol=symbol,
        )
        embedder = EventEmbedder(emb, graph=graph)
        dim = embedder.dim
        days = collect_days(
            session=session, dates=dates, embed=embedder.embed, dim=dim, symbol=symbol
        )
    return Series(
        Inputs(dates, price_features(prices).to_numpy(np.float32), days, dim),
        prices["adj_close"].to_numpy(float),
        version,
        embedding_until if events else None,
    )
