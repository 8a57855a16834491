"""Storing and reading daily price bars."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.schemas import PriceBarIn, WriteResult
from app.services.upsert import insert_ignore
from app.tables import Price

__all__ = ["store_prices", "load_prices"]


def store_prices(*, session: Session, symbol: str, items: list[PriceBarIn]) -> WriteResult:
    """Store bars for one symbol; a bar already stored for (symbol, date) is left as it is."""
    rows: dict[dt.date, dict[str, object]] = {}
    for bar in items:
        rows.setdefault(
            bar.date,
            {
                "symbol": symbol,
                "date": bar.date,
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "adj_close": bar.adj_close if bar.adj_close is not None else bar.close,
                "volume": bar.volume,
            },
        )
    # Key order (dates ascending): overlapping writers lock rows in the same order.
    ordered = [rows[date] for date in sorted(rows)]
    inserted = insert_ignore(session, Price.__table__, ordered, [Price.__table__.c.id])
    return WriteResult(
        received=len(items), inserted=len(inserted), already_present=len(items) - len(inserted)
    )


def load_prices(
    *, session: Session, symbol: str, end: dt.date | None = None, start: dt.date | None = None
) -> pd.DataFrame:
    """Bars of one symbol as a DataFrame indexed by date (ascending), columns open..volume."""
    stmt = select(
        Price.date, Price.open, Price.high, Price.low, Price.close, Price.adj_close, Price.volume
    ).where(Price.symbol == symbol)
    if end is not None:
        stmt = stmt.where(Price.date <= end)
    if start is not None:
        stmt = stmt.where(Price.date >= start)
    rows = session.execute(stmt.order_by(Price.date)).all()
    frame = pd.DataFrame(
        rows, columns=["date", "open", "high", "low", "close", "adj_close", "volume"]
    )
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.set_index("date")
