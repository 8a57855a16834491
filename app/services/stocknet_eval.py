"""The data of a universe's evaluation (`kdtcn evaluate --dataset stocknet`): each stock's
bars and news from the database, as the plain arrays evaluation.stocknet reads."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.tables import Headline, HeadlineSymbol, Price, UniverseStock
from evaluation.stocknet import StockData
from models.calendar import bar_close

__all__ = ["universe_symbols", "load_stocks"]


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


def load_stocks(session: Session, symbols: list[str]) -> list[StockData]:
    """Each symbol's adjusted closes by trading day, the UTC close of each day, and its news
    (date, publication instant or NaN, text)."""
    bars: dict[str, list[tuple[dt.date, float]]] = defaultdict(list)
    for symbol, day, close in session.execute(
        select(Price.symbol, Price.date, Price.adj_close)
        .where(Price.symbol.in_(symbols))
        .order_by(Price.symbol, Price.date)
    ):
        bars[symbol].append((day, close))
    news: dict[str, list[tuple[dt.date, float, str]]] = defaultdict(list)
    for symbol, day, published, text in session.execute(
        select(HeadlineSymbol.symbol, Headline.date, Headline.published_at, Headline.text)
        .join(Headline, Headline.id == HeadlineSymbol.headline_id)
        .where(HeadlineSymbol.symbol.in_(symbols))
        .order_by(HeadlineSymbol.symbol, Headline.date, Headline.id)
    ):
        when = float("nan") if published is None else published.timestamp()  # aware UTC
        news[symbol].append((day, when, text))
    stocks = []
    for symbol in symbols:
        days = [d for d, _ in bars[symbol]]
        items = news[symbol]
        stocks.append(
            StockData(
                symbol=symbol,
                dates=days,
                adj_close=np.array([c for _, c in bars[symbol]], dtype=np.float64),
                closes=np.array([bar_close(d).timestamp() for d in days], dtype=np.float64),
                news_dates=[d for d, _, _ in items],
                news_times=np.array([w for _, w, _ in items], dtype=np.float64),
                news_texts=[t for _, _, t in items],
            )
        )
    return stocks
