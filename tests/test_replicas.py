"""The deployment of docker-compose.yml without Docker: two API processes (`kdtcn serve
--no-bootstrap`, no extraction of their own) and two `kdtcn worker` processes on one private
PostgreSQL database, as the compose file's `api` replicas and `worker` service are.

The init step (the compose file's `init` service) is done here in-process on a slice of the
real data: migrate, import January-May 2016, extract, embed, train one `same_day` version.
June's headlines are then posted to one API as a feed would; while the workers drain them,
both APIs are asked the same questions at moments when the workers are frozen, and must
agree. The workers poll only every two minutes: they start on the feed because the write's
NOTIFY wakes them.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db import make_engine
from app.services.training import train_and_register
from app.tables import Headline
from models.targets import get_target
from models.train import TrainConfig
from tests.liveserver import service_process
from tests.test_workers import _committed
from tests.worlds import World, build_world

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
START, FEED = "2016-01-01", "2016-06-01"  # imported at init / posted to the running APIs
TRAIN_UNTIL = dt.date(2016, 5, 31)
ASKED = "2016-06-15"  # its window's headlines are in the feed
POLL = 120  # seconds: longer than the test waits for the feed to be drained


def _feed(rows: list[list[str]]) -> list[dict[str, Any]]:
    """The news from FEED on as POST items, ranked as in the dataset."""
    by_day: dict[str, int] = {}
    feed = []
    for day, text in rows:
        by_day[day] = by_day.get(day, 0) + 1
        feed.append({"date": day, "rank": by_day[day], "text": text})
    return feed


def _env(url: str, artifacts: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ARTIFACTS_DIR"}}
    env.update(DATABASE_URL=url, ARTIFACTS_DIR=str(artifacts), PYTHONUNBUFFERED="1", **extra)
    return env


@pytest.fixture(scope="module")
def initialised(pg_server, pipeline, tmp_path_factory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("replicas")

    def train(session: Any, world: World, embedding: str) -> None:
        train_and_register(
            session=session,
            artifacts=world.artifacts,
            graph=pipeline.graph,
            symbol="DJIA",
            rule=get_target("same_day"),
            until=TRAIN_UNTIL,
            embedding_version=embedding,
            n_seeds=1,
            config=TrainConfig(epochs=6, patience=3),
        )

    world, later = build_world(
        root,
        pg_server.create_database("replicas"),
        pipeline,
        start=START,
        news_before=FEED,
        embed_until=TRAIN_UNTIL,
        train=train,
    )
    world.engine.dispose()
    return {"url": world.url, "artifacts": world.artifacts, "feed": _feed(later), "root": root}


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--chunk", "40", "--poll", str(POLL)],
            cwd=ROOT,
            env={**env, "COLUMNS": "200"},
            stdout=subprocess.DEVNULL,
            stderr=fh,
        )


def _wait_for(what: str, ready: Any, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _processed(engine: Any) -> tuple[Any, ...]:
    """How many headlines are processed and when the last was: changed by any commit."""
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                select(func.count(), func.max(Headline.extracted_at)).where(
                    Headline.extracted_version.is_not(None)
                )
            ).one()
        )


def _answer(client: httpx.Client) -> dict[str, Any]:
    resp = client.get("/v1/predictions/DJIA", params={"date": ASKED, "target": "same_day"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    body.pop("cached")
    return body


@pytest.fixture(scope="module")
def deployment(initialised) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    env = _env(initialised["url"], initialised["artifacts"], EXTRACT_IN_PROCESS="false")
    logs = [initialised["root"] / f"worker{k}.log" for k in range(2)]
    with ExitStack() as stack:
        workers = [_worker(env, log) for log in logs]

        def stop_workers() -> None:
            for w in workers:
                if w.poll() is None:
                    w.send_signal(signal.SIGTERM)
            for w in workers:
                w.wait(timeout=60)

        stack.callback(stop_workers)
        apis = [stack.enter_context(service_process(env)) for _ in range(2)]
        _wait_for(
            "the workers to load the pipeline",
            lambda: all("waiting" in log.read_text() for log in logs),
        )
        yield {"apis": apis, "workers": workers, "logs": logs}


def test_two_apis_agree_while_two_workers_drain_a_feed(initialised, deployment) -> None:  # type: ignore[no-untyped-def]
    a, b = deployment["apis"]
    before = _answer(a)
    assert _answer(b) == before
    assert before["coverage"]["pending_headlines"] == 0

    feed = initialised["feed"]
    posted = a.post("/v1/headlines", json={"items": feed})
    assert posted.status_code == 200, posted.text
    assert posted.json()["inserted"] == posted.json()["pending"] == len(feed) > 400

    # While the workers drain, both APIs answer from the same database. Two workers commit
    # chunks in any order, so the same number pending does not mean the same headlines
    # processed: the workers are frozen (SIGSTOP, a claim held open) at three moments, and
    # both APIs are asked then, with the database shown not to have moved meanwhile.
    workers = deployment["workers"]
    engine = make_engine(initialised["url"])
    frozen_pending = []
    try:
        for pause in (0.3, 0.5, 0.5):
            time.sleep(pause)
            for w in workers:
                os.kill(w.pid, signal.SIGSTOP)
            try:
                time.sleep(0.2)  # a commit already sent completes
                state = _processed(engine)
                answer = _answer(a)
                assert _answer(b) == answer
                assert _processed(engine) == state, "a frozen worker committed"
                frozen_pending.append(answer["coverage"]["pending_headlines"])
            finally:
                for w in workers:
                    os.kill(w.pid, signal.SIGCONT)
    finally:
        engine.dispose()
    assert frozen_pending[0] > 0, frozen_pending  # asked while the window was pending
    assert frozen_pending == sorted(frozen_pending, reverse=True), frozen_pending

    last_pending = len(feed)
    deadline = time.monotonic() + POLL / 2
    while (pending := b.get("/v1/ingest").json()["pending"]) > 0:
        assert pending <= last_pending  # the backlog only shrinks
        last_pending = pending
        assert time.monotonic() < deadline, f"{pending} still pending: no worker woke"
        time.sleep(0.2)

    # Drained: the same answer, now with the feed's events, from both.
    after_a, after_b = _answer(a), _answer(b)
    assert after_a == after_b and after_a["coverage"]["pending_headlines"] == 0
    assert after_a["coverage"]["headlines"] > before["coverage"]["headlines"]
    assert after_a["coverage"]["events"] > before["coverage"]["events"]
    day_a = a.get("/v1/events", params={"date": ASKED}).json()
    assert day_a == b.get("/v1/events", params={"date": ASKED}).json()
    assert day_a["headlines"] and all(h["processed"] for h in day_a["headlines"])
    assert a.get("/v1/ingest").json()["pending"] == 0

    # Both workers took part, and no headline of the feed was processed twice.
    for w in deployment["workers"]:
        w.send_signal(signal.SIGTERM)
        assert w.wait(timeout=60) == 0
    shares = [_committed(log.read_text()) for log in deployment["logs"]]
    assert sum(shares) == len(feed) and min(shares) > 0, shares
