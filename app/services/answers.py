"""Answers to prediction and explanation requests: the date asked, the model that answers,
and the answer cache.

Answers are cached by model version, symbol, date, target, kind and a fingerprint of the
data in the window (row counts, newest ids and the latest extraction time), so any write
there, and any of its headlines' events being extracted, misses the cache, and replicas never
serve each other's stale answers.

The path of one answer: `Answers.get` -> predictions.resolve_date -> registry.get (the model
version, loaded once) -> fingerprint -> predictions.build (bars, the day events of
app.services.daily, the window of models.inputs, P(up)) -> explanations.explain for an
explanation -> back to the handler.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.services.backtest import run_backtest
from app.services.explanations import GraphOptions, explain
from app.services.predictions import build, resolve_date
from app.services.registry import ModelRegistry
from app.tables import Headline, ModelVersion, Price
from models.targets import Target

__all__ = ["Answers", "AnswerCache", "Ask", "BacktestAsk", "fingerprint"]

Kind = Literal["prediction", "explanation"]


@dataclass(frozen=True)
class Ask:
    """What a prediction or explanation request asks (the API's query, checked)."""

    symbol: str
    date: dt.date | None  # None: the latest the data allows
    rule: Target  # resolved from the query's name (models.targets.TARGETS)
    allow_in_sample: bool = False


@dataclass(frozen=True)
class BacktestAsk:
    """What a backtest request asks (the API's query, checked: start <= end)."""

    symbol: str
    start: dt.date
    end: dt.date
    rule: Target
    cost_bps: float
    allow_in_sample: bool = False


class AnswerCache:
    """A thread-safe LRU of answers (cachetools)."""

    def __init__(self, size: int = 512) -> None:
        """Hold at most `size` answers, evicting the least recently used."""
        self._items: LRUCache[tuple, Any] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any | None:
        """The answer stored under `key` (now the most recently used), or None."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple, value: Any) -> None:
        """Store `value` under `key`, evicting the least recently used answer when full."""
        with self._lock:
            self._items[key] = value


def fingerprint(session: Session, symbol: str, start: dt.date, end: dt.date) -> tuple:
    """Counts and newest ids of the symbol's bars and of the headlines between the dates, and
    when the last of those headlines was processed (a pending one's events arriving)."""
    prices = session.execute(
        select(func.count(), func.max(Price.id)).where(
            Price.symbol == symbol, Price.date >= start, Price.date <= end
        )
    ).one()
    news = session.execute(
        select(
            func.count(),
            func.max(Headline.id),
            func.max(Headline.extracted_version),
            func.max(Headline.extracted_at),
        ).where(Headline.date >= start - dt.timedelta(days=7), Headline.date <= end)
    ).one()
    return tuple(prices) + tuple(news)


class Answers:
    """Predictions and explanations of one service process, cached."""

    def __init__(
        self, *, registry: ModelRegistry, graph: Any, cache: AnswerCache, metrics: Any = None
    ) -> None:
        """`registry`: the model versions; `graph`: the pipeline's knowledge graph that
        explanations group and draw events with (None without a pipeline); `cache`: where
        answers are kept; `metrics`: the service's metrics, or None to record none."""
        self.registry = registry
        self.graph = graph
        self.cache = cache
        self.metrics = metrics  # app.metrics.ServiceMetrics or None

    def _cached(self, key: tuple, kind: str) -> dict[str, Any] | None:
        cached = self.cache.get(key)
        if cached is not None and self.metrics is not None:
            self.metrics.cache_hits.labels(kind).inc()
        return cached

    def get(
        self, session: Session, ask: Ask, kind: Kind, options: GraphOptions | None = None
    ) -> dict[str, Any]:
        """The answer of `kind` to `ask` (its date by default the latest the data allows),
        with `cached` saying whether it came from the cache. `options`: how much of an
        explanation's graph to draw."""
        options = options or GraphOptions()
        symbol, target = ask.symbol.upper(), ask.rule.name
        resolved = resolve_date(session, symbol, ask.date, ask.rule)
        loaded = self.registry.get(
            session=session,
            symbol=symbol,
            target=target,
            date=resolved,
            allow_in_sample=ask.allow_in_sample,
        )
        window = loaded.model.config.window
        since = resolved - dt.timedelta(days=2 * window + 10)
        key = (
            loaded.row.version,
            symbol,
            resolved,
            target,
            kind,
            options if kind == "explanation" else None,
            fingerprint(session, symbol, since, resolved),
        )
        cached = self._cached(key, kind)
        if cached is not None:
            return {**cached, "cached": True}
        started = time.perf_counter()
        prediction = build(
            session=session, loaded=loaded, symbol=symbol, date=resolved, rule=ask.rule
        )
        body = (
            prediction.public().model_dump(mode="json")
            if kind == "prediction"
            else explain(prediction, self.graph, options)
        )
        if self.metrics is not None:
            elapsed = time.perf_counter() - started
            self.metrics.answer_seconds.labels(kind, target).observe(elapsed)
        self.cache.put(key, body)
        return {**body, "cached": False}

    def backtest(self, session: Session, ask: BacktestAsk) -> dict[str, Any]:
        """app.services.backtest.run_backtest, cached until a version is recorded for the
        symbol and target or the data of the range (and the 60 days before it) change."""
        symbol, target, start, end = ask.symbol.upper(), ask.rule.name, ask.start, ask.end
        newest = session.scalar(
            select(func.max(ModelVersion.id)).where(
                ModelVersion.symbol == symbol, ModelVersion.target == target
            )
        )
        since = start - dt.timedelta(days=60)
        key = (
            "backtest",
            symbol,
            start,
            end,
            target,
            ask.cost_bps,
            ask.allow_in_sample,
            newest,
            fingerprint(session, symbol, since, end),
        )
        cached = self._cached(key, "backtest")
        if cached is not None:
            return cached
        body = run_backtest(
            session=session,
            registry=self.registry,
            symbol=symbol,
            start=start,
            end=end,
            rule=ask.rule,
            cost_bps=ask.cost_bps,
            allow_in_sample=ask.allow_in_sample,
        )
        self.cache.put(key, body)
        return body
