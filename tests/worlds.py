"""Worlds of real data for the end-to-end tests, built by one builder.

A world is a migrated database with a slice of the bundled DJIA + Reddit data imported, its
headlines' events extracted and linked by the real pipeline, a TransE embedding of the data
up to a cut, and model versions trained by the caller (`train`). The e2e tests build one on
SQLite and serve it; the replica tests build theirs on PostgreSQL. A test that writes gets a
copy (`World.copy`, SQLite) so the others keep reading the world as it was built.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.bootstrap import extract_all
from app.db import make_engine, make_sessionmaker, transaction
from app.importer import import_djia_reddit, import_history
from app.migrate import upgrade
from app.services.embeddings import build_embeddings
from app.settings import PROJECT_ROOT, Settings
from app.tables import Price
from models.targets import get_target
from tests.liveserver import LiveServer, free_port
from tests.samples import dataset_slice

__all__ = ["BREXIT", "FIRST_CUT", "World", "build_e2e_world", "build_world", "up_labels"]

DATA_DIR = PROJECT_ROOT / "data"


@dataclass
class World:
    """A built world: its database, artifacts folder and sessions."""

    root: Path
    url: str
    artifacts: Path
    engine: Engine
    factory: sessionmaker[Session]

    def settings(self) -> Settings:
        """Service settings over this world (no first-start bootstrap)."""
        return Settings(
            database_url=self.url,
            artifacts_dir=self.artifacts,
            pystow_home=PROJECT_ROOT / "var" / "pystow",
            bootstrap=False,
        )

    @contextmanager
    def serve(self, pipeline: Any) -> Iterator[LiveServer]:
        """The service over this world on real HTTP (127.0.0.1), stopped on exit."""
        from app.main import create_app

        app = create_app(self.settings(), pipeline_factory=lambda _s: pipeline)
        with LiveServer(app, free_port()) as server:
            yield server

    def copy(self, root: Path) -> World:
        """A copy of this SQLite world under `root` (the database by SQLite's backup, the
        artifacts folder as files), for a test that writes."""
        prefix = "sqlite:///"
        assert self.url.startswith(prefix), "only SQLite worlds are copied"
        root.mkdir(parents=True, exist_ok=True)
        database = root / "kdtcn.sqlite3"
        with sqlite3.connect(self.url[len(prefix) :]) as src, sqlite3.connect(database) as dst:
            src.backup(dst)
        shutil.copytree(self.artifacts, root / "artifacts")
        url = f"{prefix}{database}"
        engine = make_engine(url)
        return World(root, url, root / "artifacts", engine, make_sessionmaker(engine))


def build_world(
    root: Path,
    url: str,
    pipeline: Any,
    *,
    start: str,
    embed_until: dt.date,
    train: Callable[[Session, World, str], None],
    news_before: str | None = None,
    gspc: bool = False,
) -> tuple[World, list[list[str]]]:
    """Migrate `url`, import the DJIA + Reddit data from `start` (headlines before
    `news_before` only, when given; the later ones are returned as [date, text] rows for a
    feed), with `gspc` the S&P 500 bars of the same days, extract and link every headline,
    embed the data up to `embed_until` (3 epochs), then `train(session, world, embedding
    version)` in one transaction."""
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    raw, later = dataset_slice(root / "raw", start, news_before=news_before)
    import_djia_reddit(raw, factory)
    if gspc:
        with factory() as session:
            first, last = session.execute(
                select(func.min(Price.date), func.max(Price.date)).where(Price.symbol == "DJIA")
            ).one()
        report = import_history("GSPC", DATA_DIR, factory, start=first, end=last)
        assert report.prices_inserted > 100 and not report.rejected
    extract_all(factory, pipeline)
    world = World(root, url, root / "artifacts", engine, factory)
    with transaction(factory) as session:
        version, _ = build_embeddings(
            session=session,
            kg_triples=pipeline.graph.triples(),
            artifacts=world.artifacts,
            until=embed_until,
            epochs=3,
        )
        train(session, world, version)
    return world, later


# The e2e world: the first half of 2016 and GSPC's bars of the same days; walk-forward
# versions as the first start builds them, cuts on FIRST_CUT and every 21 trading days.
E2E_START = "2016-01-01"
FIRST_CUT = dt.date(2016, 3, 31)
BREXIT = "2016-06-24"


def build_e2e_world(root: Path, pipeline: Any) -> World:
    """The e2e tests' world on a SQLite file: DJIA chains of every target and a GSPC chain
    of same_day, on one embedding of the data up to FIRST_CUT, a few epochs and one seed
    (the served default is SERVED_SEEDS; one keeps the fixture quick)."""
    from app.services.walk_forward import train_walk_forward
    from models.train import TrainConfig

    def train(session: Session, world: World, embedding: str) -> None:
        for symbol, targets in (
            ("DJIA", ("same_day", "next_day", "big_move", "next_close")),
            ("GSPC", ("same_day",)),
        ):
            train_walk_forward(
                session=session,
                artifacts=world.artifacts,
                graph=pipeline.graph,
                symbol=symbol,
                rules=[get_target(t) for t in targets],
                start=FIRST_CUT + dt.timedelta(days=1),
                every=21,
                embedding_version=embedding,
                config=TrainConfig(epochs=6, patience=3),
                n_seeds=1,
                say=lambda _line: None,
            )

    world, _ = build_world(
        root,
        f"sqlite:///{root / 'kdtcn.sqlite3'}",
        pipeline,
        start=E2E_START,
        embed_until=FIRST_CUT,
        train=train,
        gspc=True,
    )
    return world


def up_labels(prices: Any) -> np.ndarray:
    """The direction labels of every day of a price frame (models.targets)."""
    return get_target("next_day").labels(prices["adj_close"].to_numpy(float))
