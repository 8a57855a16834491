"""The data of a universe's evaluation (`kdtcn evaluate --dataset stocknet`): each stock's
bars and news from the database, as the plain arrays evaluation.stocknet reads, and the
knowledge its network rows read (the companies' facts and relations, and each item's event
vector from an embedding of the graph, those facts and the training days' events)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.services.daily import to_kg_event
from app.services.embeddings import build_embeddings
from app.tables import Event, Headline, HeadlineSymbol, Price, UniverseStock
from kg.companies import (
    co_mentions,
    companies_of,
    company_triples,
    load_reference,
    relations,
    stock_node,
)
from kg.event_vectors import EventEmbedder
from models.calendar import bar_close
from models.features import price_features
from models.universe_data import NeuralInputs, StockData

__all__ = ["universe_symbols", "load_stocks", "universe_knowledge", "item_vectors"]

CACHED_ITEMS = 500_000  # an item vector cache past this many items starts again


def universe_symbols(session: Session, universe: str | None) -> list[str]:
    """The stocks of `universe` (app.tables.UniverseStock) that have bars; without a name,
    every symbol with bars and news of its own (a universe posted over HTTP)."""
    with_bars = set(session.scalars(select(Price.symbol).distinct()))
    if universe is not None:
        members = set(
            session.scalars(select(UniverseStock.symbol).where(UniverseStock.universe == universe))
        )
        if not members:
            raise ValueError(
                f"no universe {universe!r} in the database (kdtcn import stocknet stores "
                "`stocknet`; leave --universe out to use every symbol with news of its own)"
            )
        return sorted(members & with_bars)
    with_news = set(session.scalars(select(HeadlineSymbol.symbol).distinct()))
    return sorted(with_bars & with_news)


def load_stocks(
    session: Session,
    symbols: list[str],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[StockData]:
    """Each symbol's bars (adjusted closes, raw price features, the UTC close of each day)
    and its news (date, publication instant or NaN, text, id), with `start`/`end` only the
    bars dated in [start, end] and the items dated in [start, end + 1 day] (an item filed the
    day after `end` can be published before its close; tables place it by its time)."""
    bar_dates = []
    news_dates = []
    if start is not None:
        bar_dates.append(Price.date >= start)
        news_dates.append(Headline.date >= start)
    if end is not None:
        bar_dates.append(Price.date <= end)
        news_dates.append(Headline.date <= end + dt.timedelta(days=1))
    columns = ["date", "open", "high", "low", "close", "adj_close", "volume"]
    bars: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in session.execute(
        select(Price.symbol, *(getattr(Price, c) for c in columns))
        .where(Price.symbol.in_(symbols), *bar_dates)
        .order_by(Price.symbol, Price.date)
    ):
        bars[row[0]].append(tuple(row[1:]))
    news: dict[str, list[tuple[dt.date, float, str, int]]] = defaultdict(list)
    for symbol, day, published, text, hid in session.execute(
        select(
            HeadlineSymbol.symbol, Headline.date, Headline.published_at, Headline.text, Headline.id
        )
        .join(Headline, Headline.id == HeadlineSymbol.headline_id)
        .where(HeadlineSymbol.symbol.in_(symbols), *news_dates)
        .order_by(HeadlineSymbol.symbol, Headline.date, Headline.id)
    ):
        when = float("nan") if published is None else published.timestamp()  # aware UTC
        news[symbol].append((day, when, text, hid))
    stocks = []
    for symbol in symbols:
        frame = pd.DataFrame(bars[symbol], columns=columns)
        days = list(frame["date"])
        items = news[symbol]
        stocks.append(
            StockData(
                symbol=symbol,
                dates=days,
                adj_close=frame["adj_close"].to_numpy(np.float64),
                closes=np.array([bar_close(d).timestamp() for d in days], dtype=np.float64),
                news_dates=[d for d, _, _, _ in items],
                news_times=np.array([w for _, w, _, _ in items], dtype=np.float64),
                news_texts=[t for _, _, t, _ in items],
                news_ids=[h for _, _, _, h in items],
                price_rows=price_features(frame).to_numpy(np.float32),
            )
        )
    return stocks


def universe_knowledge(
    session: Session,
    stocks: Sequence[StockData],
    *,
    graph: Any,
    linker: Any,
    artifacts: Path,
    reference: Path,
    train_end: dt.date,
    universe: str | None = None,
    epochs: int = 25,
    seed: int = 0,
    say: Callable[[str], None] = lambda _line: None,
) -> NeuralInputs:
    """The network rows' knowledge of `stocks`: their companies (kg.companies: names and
    sectors from the universe's list, the reference's sub-industries and headquarters,
    Wikidata entities), co-mentions counted on items dated before `train_end`, the
    relations between the stocks, and each item's event vector (the mean of its events';
    NaN for an item without events) from TransE trained on WD40k, the companies' facts and
    the event triples of the stocks' items dated before `train_end` (`epochs`, `seed`)."""
    symbols = [s.symbol for s in stocks]
    listed: dict[str, tuple[str | None, str | None]] = {}
    if universe is not None:
        for row in session.scalars(select(UniverseStock).where(UniverseStock.universe == universe)):
            listed[row.symbol] = (row.company, row.sector)
    ref = load_reference(reference) if Path(reference).exists() else {}
    companies = companies_of(
        [(s, *listed.get(s, (None, None))) for s in symbols], reference=ref, linker=linker
    )
    named: dict[int, tuple[dt.date, list[str]]] = {}
    for stock in stocks:
        for hid, day in zip(stock.news_ids, stock.news_dates, strict=True):
            named.setdefault(hid, (day, []))[1].append(stock.symbol)
    co = co_mentions(named.values(), symbols=symbols, before=train_end)
    facts = company_triples(companies, co)
    say(
        f"companies: {sum(c.entity is not None for c in companies)} Wikidata entities, "
        f"{sum(c.sub_industry is not None for c in companies)} with a GICS sub-industry, "
        f"{len(facts)} facts"
    )
    version, emb = build_embeddings(
        session=session,
        kg_triples=graph.triples(),
        artifacts=artifacts,
        until=train_end - dt.timedelta(days=1),
        epochs=epochs,
        seed=seed,
        symbols=symbols,
        extra_triples=facts,
    )
    say(f"KDTCN embedding {version} ({emb.meta.get('train_seconds')} s)")
    return NeuralInputs(
        kg_vectors=item_vectors(session, stocks, EventEmbedder(emb, graph=graph)),
        related=relations(companies, co),
        embedding_version=version,
        facts=facts,
        nodes={c.symbol: stock_node(c) for c in companies},
    )


def item_vectors(
    session: Session,
    stocks: Sequence[StockData],
    embedder: EventEmbedder,
    *,
    cache: MutableMapping[tuple[int, str], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Each stock's items' event vectors, aligned with its news: the mean of the item's
    events' vectors (kg.event_vectors.EventEmbedder), NaN for an item without events.

    With `cache` (one per embedder: a served version keeps one), an item's vector is kept
    under its id and the extractor version that processed it, so a version serving day after
    day reads and embeds each item's events once. A pending item is never kept (its events are
    still to come), and an item processed again by another extractor version is another key."""
    ids = sorted({h for s in stocks for h in s.news_ids})
    known: dict[int, np.ndarray] = {}
    versions: dict[int, str] = {}
    if cache is not None:
        for k in range(0, len(ids), 5000):
            for h, v in session.execute(
                select(Headline.id, Headline.extracted_version).where(
                    Headline.id.in_(ids[k : k + 5000]), Headline.extracted_version.is_not(None)
                )
            ):
                if v is not None:  # (the query keeps processed items only)
                    versions[h] = v
        known = {h: cache[(h, v)] for h, v in versions.items() if (h, v) in cache}
    todo = [h for h in ids if h not in known]
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = defaultdict(int)
    for k in range(0, len(todo), 5000):
        stmt = (
            select(Event)
            .where(Event.headline_id.in_(todo[k : k + 5000]))
            .options(selectinload(Event.entities))
        )
        for event in session.scalars(stmt):
            vec = embedder.embed(*to_kg_event(event))
            hid = event.headline_id
            sums[hid] = sums[hid] + vec if hid in sums else vec
            counts[hid] += 1
    empty = np.full(embedder.dim, np.nan, np.float32)
    for h in todo:
        known[h] = sums[h] / counts[h] if h in sums else empty
    if cache is not None:
        if len(cache) > CACHED_ITEMS:
            cache.clear()
        cache.update({(h, versions[h]): known[h] for h in todo if h in versions})
    return {
        s.symbol: np.array([known[h] for h in s.news_ids], np.float32).reshape(
            len(s.news_ids), embedder.dim
        )
        for s in stocks
    }
