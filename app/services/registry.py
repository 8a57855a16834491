"""Loaded model versions, chosen point in time and loaded once.

The serving rule: an answer for date D uses the version with the newest cut whose
training labels all precede the day being predicted (models.targets.Target.last_label_date),
so none of its fitting data overlaps the answer. While a newer such version is queued or
being trained (app.services.jobs), the answer is VersionPending (503 with Retry-After and
the job), never an older version's. Without one, the answer is NoModel (409)
naming the command that trains one, unless the caller allows an in-sample answer: then the
newest version serves, marked in sample.

Bounded (least recently used versions are evicted), with one lock per version: loading a new
version blocks only the requests that need that version, never predictions of the others.
A version trained while the service runs is picked up on the next call, without a restart.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from sqlalchemy.orm import Session

from app.domain import NoModel, UnreadableModel
from app.services.daily import VectorCache
from app.services.embeddings import embeddings_dir
from app.services.jobs import pending_error, pending_job
from app.services.model_versions import latest_version, version_for
from app.tables import ModelVersion
from kg.embed import EventEmbedder, KGEmbeddings
from models.artifact import ArtifactError, ServedModel, load_artifact
from models.targets import Target

__all__ = ["Loaded", "ModelRegistry", "VersionRecord", "choose"]


@dataclass(frozen=True)
class VersionRecord:
    """A recorded version as plain values: a loaded model outlives the session that read
    its row (an ORM row would expire with that session's rollback or commit)."""

    id: int
    name: str
    version: str
    symbol: str
    target: str
    artifact_path: str
    embedding_version: str | None
    train_start: dt.date | None
    train_end: dt.date | None
    metrics: dict[str, Any]
    config: dict[str, Any]
    created_at: dt.datetime | None

    @classmethod
    def of(cls, row: ModelVersion) -> VersionRecord:
        """The values of a `model_versions` row, read while its session is open."""
        return cls(**{f: getattr(row, f) for f in cls.__dataclass_fields__})


@dataclass
class Loaded:
    """A version ready to answer: its record, its model and, for a version that reads news,
    its event embedder and the cache of that embedder's event vectors."""

    row: VersionRecord
    model: ServedModel
    embedder: EventEmbedder | None
    vectors: VectorCache | None = None  # the embedder's event vectors, by event content


def choose(
    session: Session, symbol: str, rule: Target, date: dt.date, *, allow_in_sample: bool = False
) -> ModelVersion:
    """The recorded version of the target `rule` that answers for `date` under the serving
    rule (module docstring); NoModel names the commands that train one."""
    target = rule.name  # versions and jobs are stored under the target's name
    until = rule.last_label_date(date)
    row = version_for(session=session, symbol=symbol, target=target, trained_until=until)
    job = pending_job(
        session, symbol=symbol, target=target, after=row.train_end if row else None, until=until
    )
    if job is not None:
        raise pending_error(session, job, f"{symbol} ({target}) on {date}")
    if row is None and allow_in_sample:
        row = latest_version(session=session, symbol=symbol, target=target)
    if row is None:
        any_version = latest_version(session=session, symbol=symbol, target=target)
        seen = f"every version was fitted on labels after {until}; " if any_version else ""
        start = until + dt.timedelta(days=1)
        raise NoModel(
            f"no out-of-sample model for {symbol} ({target}) on {date}: {seen}train one "
            f"with: kdtcn train --symbol {symbol} --model kdtcn --target {target} "
            f"--until {until}, or a chain: kdtcn train --symbol {symbol} --target {target} "
            f"--walk-forward --start {start} --every 63 (or ask with allow_in_sample=true)"
        )
    return row


class ModelRegistry:
    """The loaded versions of one service process (see the module docstring): at most
    `max_versions` in memory, each loaded once, chosen per request by the serving rule."""

    def __init__(
        self,
        artifacts: Path,
        graph: Any,
        on_load: Callable[[float], None] | None = None,
        *,
        max_versions: int = 32,
    ) -> None:
        """`artifacts`: the artifacts folder, whose `embeddings/` holds the versions'
        embeddings (a model's own files are at its recorded `artifact_path`); `graph`: the
        knowledge graph the event embedders read (None without one); `on_load(seconds)`:
        called after each load."""
        self.artifacts = Path(artifacts)
        self.graph = graph
        self.on_load = on_load
        self._loaded: LRUCache[str, Loaded] = LRUCache(maxsize=max_versions)
        self._guard = threading.Lock()  # held only to read or update the two maps below
        self._version_locks: dict[str, threading.Lock] = {}

    def get(
        self,
        *,
        session: Session,
        symbol: str,
        rule: Target,
        date: dt.date,
        allow_in_sample: bool = False,
    ) -> Loaded:
        """The loaded version of the target `rule` that answers for `date` (see `choose`)."""
        return self.load(choose(session, symbol, rule, date, allow_in_sample=allow_in_sample))

    def load(self, row: ModelVersion) -> Loaded:
        """The loaded form of a recorded version (from memory when already loaded)."""
        with self._guard:
            hit = self._loaded.get(row.version)
            if hit is not None:
                return hit
            lock = self._version_locks.setdefault(row.version, threading.Lock())
        with lock:  # one loader per version; others wait here, then find it loaded
            with self._guard:
                hit = self._loaded.get(row.version)
            if hit is not None:
                return hit
            loaded = self._load(row)
            with self._guard:
                self._loaded[row.version] = loaded
                for version in [v for v in self._version_locks if v not in self._loaded]:
                    del self._version_locks[version]  # evicted: a later call makes a new lock
            return loaded

    def _load(self, row: ModelVersion) -> Loaded:
        started = time.perf_counter()
        try:
            model = load_artifact(Path(row.artifact_path))
        except ArtifactError as exc:
            raise UnreadableModel(f"version {row.version}: {exc}") from exc
        embedder = None
        if row.embedding_version:
            emb = KGEmbeddings.load(embeddings_dir(self.artifacts) / row.embedding_version)
            embedder = EventEmbedder(emb, graph=self.graph)
        if self.on_load is not None:
            self.on_load(time.perf_counter() - started)
        vectors = VectorCache() if embedder is not None else None
        return Loaded(VersionRecord.of(row), model, embedder, vectors)

    def summary(self) -> list[str]:
        """The versions held in memory now, by name (sorted)."""
        with self._guard:
            return sorted(self._loaded.keys())
