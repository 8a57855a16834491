"""Loaded model versions: the newest recorded version per symbol and target, loaded once.

Bounded (least recently used versions are evicted), with one lock per version: loading a new
version blocks only the requests that need that version, never predictions of the others.
A version trained while the service runs is picked up on the next call, without a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from sqlalchemy.orm import Session

from app.domain import NoModel
from app.services.embeddings import embeddings_dir
from app.services.model_versions import latest_version
from app.tables import ModelVersion
from kg.embed import EventEmbedder, KGEmbeddings
from models.artifact import ServedModel, load_artifact

__all__ = ["Loaded", "ModelRegistry"]


@dataclass
class Loaded:
    row: ModelVersion
    model: ServedModel
    embedder: EventEmbedder | None


class ModelRegistry:
    def __init__(
        self,
        artifacts: Path,
        graph: Any,
        on_load: Callable[[float], None] | None = None,
        *,
        max_versions: int = 8,
    ) -> None:
        self.artifacts = Path(artifacts)
        self.graph = graph
        self.on_load = on_load
        self._loaded: LRUCache[str, Loaded] = LRUCache(maxsize=max_versions)
        self._guard = threading.Lock()  # held only to read or update the two maps below
        self._version_locks: dict[str, threading.Lock] = {}

    def get(self, *, session: Session, symbol: str, target: str) -> Loaded:
        row = latest_version(session=session, symbol=symbol, target=target)
        if row is None:
            raise NoModel(
                f"no model trained for {symbol} ({target}); train one with: "
                f"kdtcn train --symbol {symbol} --model kdtcn --target {target}"
            )
        return self.load(row)

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
        model = load_artifact(Path(row.artifact_path))
        embedder = None
        if row.embedding_version:
            emb = KGEmbeddings.load(embeddings_dir(self.artifacts) / row.embedding_version)
            embedder = EventEmbedder(emb, graph=self.graph)
        if self.on_load is not None:
            self.on_load(time.perf_counter() - started)
        return Loaded(row, model, embedder)

    def summary(self) -> list[str]:
        with self._guard:
            return sorted(self._loaded.keys())
