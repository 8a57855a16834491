"""Cached answers, keyed by model version, symbol, date, target, kind and a fingerprint of
the data in the window (row counts and newest ids), so any write there misses the cache and
replicas never serve each other's stale answers."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.tables import Headline, Price

__all__ = ["AnswerCache", "fingerprint"]


class AnswerCache:
    """A thread-safe LRU of answers (cachetools)."""

    def __init__(self, size: int = 512) -> None:
        self._items: LRUCache[tuple, Any] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._items[key] = value


def fingerprint(session: Session, symbol: str, start: dt.date, end: dt.date) -> tuple:
    """Counts and newest ids of the symbol's bars and of the headlines between the dates."""
    prices = session.execute(
        select(func.count(), func.max(Price.id)).where(
            Price.symbol == symbol, Price.date >= start, Price.date <= end
        )
    ).one()
    news = session.execute(
        select(func.count(), func.max(Headline.id), func.max(Headline.extracted_version)).where(
            Headline.date >= start - dt.timedelta(days=7), Headline.date <= end
        )
    ).one()
    return tuple(prices) + tuple(news)
