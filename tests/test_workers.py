"""`kdtcn worker` processes on the private PostgreSQL: a worker killed in the middle of a
chunk loses nothing, and two workers at once process every headline exactly once; the bulk
extraction's processes (first start, `kdtcn kg extract`) on SQLite and PostgreSQL.

"Exactly once" is read from the workers' own reports: each prints a line per chunk it
committed (app.cli.worker), so the committed chunks of all workers add up to the number of
headlines only if none was processed twice; the events stored must be those a single
in-process extraction of the same texts gives.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import make_engine, make_sessionmaker
from app.migrate import upgrade
from app.schemas import HeadlineIn
from app.services.headlines import store_headlines
from app.tables import Event, Headline
from kg.text import clean_headline
from tests.conftest import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
N = 2000
CHUNK = 100
CHUNK_LINE = re.compile(r"^(\d+) headlines in ")


def _reddit(n: int) -> list[HeadlineIn]:
    out: list[HeadlineIn] = []
    with gzip.open(DATA_DIR / "djia_reddit" / "RedditNews.csv.gz", "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            if clean_headline(row["News"]):
                out.append(HeadlineIn(date=dt.date.fromisoformat(row["Date"]), text=row["News"]))
            if len(out) == n:
                return out
    return out


_EXPECTED: dict[tuple[str, ...], int] = {}


def _expected_events(texts: tuple[str, ...], pipeline) -> int:  # type: ignore[no-untyped-def]
    """The events a single in-process extraction of `texts` gives, computed once per module
    for the same texts (every backlog stores the same headlines)."""
    if texts not in _EXPECTED:
        _EXPECTED[texts] = sum(len(found) for found in pipeline.process(list(texts)))
    return _EXPECTED[texts]


class Backlog:
    """A migrated private database holding pending headlines of the real news, and the
    number of events a single in-process extraction of their stored texts gives."""

    def __init__(self, url: str, pipeline) -> None:  # type: ignore[no-untyped-def]
        self.url = url
        self.engine = make_engine(url)
        self.factory = make_sessionmaker(self.engine)
        result = store_headlines(factory=self.factory, items=_reddit(N))
        assert result.pending == result.inserted > 1900
        with self.factory() as session:
            texts = session.scalars(select(Headline.text).order_by(Headline.id)).all()
        self.n = len(texts)
        self.expected_events = _expected_events(tuple(texts), pipeline)

    def state(self) -> tuple[int, int, int]:
        """(processed headlines, events, distinct (headline, position) of the events)."""
        with self.factory() as session:
            processed = session.scalar(
                select(func.count()).where(Headline.extracted_version.is_not(None))
            )
            events = session.scalar(select(func.count()).select_from(Event))
            keys = session.scalar(
                select(func.count()).select_from(
                    select(Event.headline_id, Event.position).distinct().subquery()
                )
            )
        return int(processed or 0), int(events or 0), int(keys or 0)


@pytest.fixture
def backlog(pg_server, pipeline) -> Iterator[Backlog]:  # type: ignore[no-untyped-def]
    url = pg_server.create_database(f"w{time.monotonic_ns()}")
    upgrade(url)
    made = Backlog(url, pipeline)
    yield made
    made.engine.dispose()


def test_bulk_extraction_splits_the_backlog_between_processes(
    database_url: str, pipeline, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from app.bootstrap import extract_all
    from app.settings import PROJECT_ROOT, Settings

    made = Backlog(database_url, pipeline)
    settings = Settings(
        database_url=database_url,
        artifacts_dir=tmp_path / "artifacts",
        pystow_home=PROJECT_ROOT / "var" / "pystow",
        data_dir=DATA_DIR,
    )
    try:
        done = extract_all(made.factory, pipeline, settings=settings, processes=2)
        processed, events, keys = made.state()
    finally:
        made.engine.dispose()
    assert done == processed == made.n
    assert events == keys == made.expected_events


def _worker(url: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATABASE_URL=url, PYTHONUNBUFFERED="1", COLUMNS="200")
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--chunk", str(CHUNK), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _committed(stderr: str) -> int:
    return sum(int(m.group(1)) for line in stderr.splitlines() if (m := CHUNK_LINE.match(line)))


@pytest.mark.postgres
def test_a_worker_killed_mid_chunk_loses_nothing_and_repeats_nothing(backlog: Backlog) -> None:
    first = _worker(backlog.url)
    try:
        deadline = time.monotonic() + 180
        while backlog.state()[0] < 2 * CHUNK:  # two chunks committed, a third in hand
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            assert time.monotonic() < deadline, "the worker processed nothing"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        _, killed_log = first.communicate(timeout=30)
    processed = backlog.state()[0]
    assert processed < backlog.n  # killed with work left
    # Whole chunks only: the chunk in hand was not stored in part. A chunk's log line follows
    # its commit, so the kill may come between the two for the last one.
    assert processed % CHUNK == 0
    assert _committed(killed_log) in (processed, processed - CHUNK)

    drain = _worker(backlog.url, "--drain")
    _, drain_log = drain.communicate(timeout=600)
    assert drain.returncode == 0, drain_log
    processed, events, keys = backlog.state()
    assert processed == backlog.n
    # The killed worker's claim went back to the pool: the two logs add up exactly.
    assert _committed(killed_log) + _committed(drain_log) == backlog.n
    assert events == keys == backlog.expected_events


@pytest.mark.postgres
def test_two_workers_at_once_share_the_backlog(backlog: Backlog) -> None:
    workers = [_worker(backlog.url, "--drain") for _ in range(2)]
    logs = [w.communicate(timeout=600)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    processed, events, keys = backlog.state()
    assert processed == backlog.n
    shares = [_committed(log) for log in logs]
    assert sum(shares) == backlog.n, shares  # no headline processed by both
    assert min(shares) > 0, shares  # both took part
    assert events == keys == backlog.expected_events
