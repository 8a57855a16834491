"""Answers to prediction and explanation requests: the date asked, the model that answers,
and the answer cache.

Answers are cached by what was asked (symbol, date or "latest", target, kind, graph options,
in-sample) and served while the data stamp they were computed under still holds: one query
(`data_stamp`) reads the symbol's bar count and newest bar id, the newest headline id and
extraction time, the number and newest id of the model versions, and the queued or running
training jobs. Any write of a bar, a headline, its events, a version or a job changes it, so
no answer outlives the data it read, and replicas never serve each other's stale answers. A
hit costs that one query; a miss takes the whole path.

On SQLite a cached prediction is served by `Answers.cached_json` on the event loop: the stamp
is read on the pool's own sqlite3 connection (no ORM session: 65 us against 150 us) and the
hit is sent as JSON bytes rendered once per cached answer, not validated and serialised
again by FastAPI on every request. A py-spy profile of cached hits under load (issue 30) put
a quarter of the service's time in those two (the ORM session 17%, FastAPI's response
validation and serialisation 11%).

The path of one answer: `Answers.get` -> data_stamp -> predictions.resolve_date ->
registry.get (the model version, loaded once) -> predictions.build (bars, the day events of
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
from pydantic import BaseModel
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.schemas_explanations import ExplanationPublic
from app.schemas_public import PredictionPublic
from app.services.backtest import run_backtest
from app.services.explanations import GraphOptions, explain
from app.services.predictions import build, resolve_date
from app.services.registry import ModelRegistry
from app.tables import Headline, ModelVersion, Price
from models.targets import Target

__all__ = [
    "Answers",
    "AnswerCache",
    "Ask",
    "BacktestAsk",
    "data_stamp",
    "fingerprint",
    "sqlite_data_stamp",
]

Kind = Literal["prediction", "explanation"]

# The public body of each kind: a cached hit is rendered through it once (`Answers.cached_json`).
_PUBLIC: dict[str, type[BaseModel]] = {
    "prediction": PredictionPublic,
    "explanation": ExplanationPublic,
}


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


# Every subquery reads an index (prices by symbol, primary keys, headlines.extracted_at,
# training_jobs.status): a few hundredths of a millisecond on the demo's 73,570 headlines.
_STAMP = text(
    """
    SELECT
      (SELECT count(*) FROM prices WHERE symbol = :symbol),
      (SELECT max(id) FROM prices WHERE symbol = :symbol),
      (SELECT max(id) FROM headlines),
      (SELECT max(extracted_at) FROM headlines),
      (SELECT count(*) FROM model_versions),
      (SELECT max(id) FROM model_versions),
      (SELECT count(*) FROM training_jobs WHERE status IN ('queued', 'running')),
      (SELECT max(id) FROM training_jobs)
    """
)


def data_stamp(session: Session, symbol: str) -> tuple:
    """What every answer about `symbol` depends on, in one query (module docstring). Bars
    and headlines are only ever added (a re-posted one is left as it is) and a headline's
    events change only with its extraction time, so counts and newest ids see every write."""
    return tuple(session.execute(_STAMP, {"symbol": symbol}).one())


def sqlite_data_stamp(engine: Engine, symbol: str) -> tuple:
    """`data_stamp` on a SQLite engine, read on a pooled sqlite3 connection without an ORM
    session: the same statement and the same row. sqlite3 runs a lone SELECT outside any
    transaction, so it sees every write committed before it."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(_STAMP.text, {"symbol": symbol})
            return tuple(cursor.fetchone() or ())
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool


@dataclass(frozen=True)
class _Entry:
    """A cached answer: the data stamp it was computed under, its JSON form, and the bytes
    a hit sends (rendered by the first hit that sends bytes)."""

    stamp: tuple
    body: dict[str, Any]
    hit_json: bytes | None = None


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

    @staticmethod
    def _key(ask: Ask, kind: Kind, options: GraphOptions) -> tuple:
        explanation_options = options if kind == "explanation" else None
        return (
            ask.symbol.upper(),
            ask.date,
            ask.rule.name,
            kind,
            explanation_options,
            ask.allow_in_sample,
        )

    def _hit(self, key: tuple, stamp: tuple) -> _Entry | None:
        """The entry cached under `key` if it was computed under `stamp` (a hit counted)."""
        entry = self.cache.get(key)
        if entry is None or entry.stamp != stamp:
            return None
        if self.metrics is not None:
            self.metrics.cache_hits.labels(key[3]).inc()
        return entry

    def _lookup(
        self, session: Session, ask: Ask, kind: Kind, options: GraphOptions
    ) -> tuple[tuple, tuple, dict[str, Any] | None]:
        """The cache key of `ask`, the data stamp now, and the cached answer if it was
        computed under that stamp. The stamp is read before an answer is computed: a write
        meanwhile changes it, so the next request computes again rather than trusting it."""
        key = self._key(ask, kind, options)
        stamp = data_stamp(session, key[0])
        entry = self._hit(key, stamp)
        return key, stamp, None if entry is None else {**entry.body, "cached": True}

    def cached_json(self, engine: Engine, ask: Ask, kind: Kind) -> bytes | None:
        """The cached answer of `ask` as the JSON bytes of its response (`cached: true`) if
        the data it read is unchanged, else None; the default graph options for an
        explanation. For SQLite engines (`sqlite_data_stamp`); a key never cached costs no
        query."""
        key = self._key(ask, kind, GraphOptions())
        if self.cache.get(key) is None:
            return None
        entry = self._hit(key, sqlite_data_stamp(engine, key[0]))
        if entry is None:
            return None
        if entry.hit_json is None:
            public = _PUBLIC[kind].model_validate({**entry.body, "cached": True})
            entry = _Entry(entry.stamp, entry.body, public.model_dump_json().encode())
            self.cache.put(key, entry)
        return entry.hit_json

    def get(
        self, session: Session, ask: Ask, kind: Kind, options: GraphOptions | None = None
    ) -> dict[str, Any]:
        """The answer of `kind` to `ask` (its date by default the latest the data allows),
        with `cached` saying whether it came from the cache. `options`: how much of an
        explanation's graph to draw."""
        options = options or GraphOptions()
        symbol, target = ask.symbol.upper(), ask.rule.name
        key, stamp, hit = self._lookup(session, ask, kind, options)
        if hit is not None:
            return hit
        resolved = resolve_date(session, symbol, ask.date, ask.rule)
        loaded = self.registry.get(
            session=session,
            symbol=symbol,
            rule=ask.rule,
            date=resolved,
            allow_in_sample=ask.allow_in_sample,
        )
        started = time.perf_counter()
        prediction = build(
            session=session, loaded=loaded, symbol=symbol, date=resolved, rule=ask.rule
        )
        # The cache keeps the answer's JSON form; a hit serves it with `cached` set.
        typed = (
            prediction.public()
            if kind == "prediction"
            else explain(prediction, self.graph, options)
        )
        body = typed.model_dump(mode="json")
        if self.metrics is not None:
            elapsed = time.perf_counter() - started
            self.metrics.answer_seconds.labels(kind, target).observe(elapsed)
        self.cache.put(key, _Entry(stamp, body))
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
