"""The service under failure, over real HTTP: the database going away and coming back,
overlapping concurrent writers on PostgreSQL, and a SIGKILL in the middle of a large batch."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.db import make_engine
from app.main import create_app
from app.migrate import upgrade
from app.settings import PROJECT_ROOT, Settings
from tests.liveserver import LiveServer, free_port, start_service
from tests.pgserver import PostgresServer, started_server
from tests.samples import BAR, wait_until_processed

pytestmark = pytest.mark.postgres

COUNTRIES = ["France", "China", "Russia", "Brazil", "India", "Japan", "Germany", "Iran"]


def _headlines(n: int, start: dt.date = dt.date(2015, 1, 1)) -> list[dict]:
    return [
        {
            "date": (start + dt.timedelta(days=i // 25)).isoformat(),
            "rank": i % 25 + 1,
            "text": f"{COUNTRIES[i % 8]} announces trade policy {i} with {COUNTRIES[i * 3 % 8]}",
        }
        for i in range(n)
    ]


@pytest.fixture
def private_pg() -> Iterator[PostgresServer]:
    """A server of this test's own, which it stops and restarts."""
    server = started_server()
    yield server
    server.stop()


def test_database_down_is_503_json_and_recovers_without_restart(
    private_pg: PostgresServer, pipeline, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url = private_pg.create_database("down")
    upgrade(url)
    settings = Settings(database_url=url, artifacts_dir=tmp_path / "a", bootstrap=False)
    app = create_app(settings, pipeline_factory=lambda _s: pipeline)
    with LiveServer(app, free_port()) as live, httpx.Client(base_url=live.base_url) as http:
        assert http.post("/v1/prices", json={"symbol": "DJIA", "items": [BAR]}).status_code == 200
        private_pg.pause()
        try:
            for method, path, body in [
                ("GET", "/v1/events?date=2016-06-24", None),
                ("GET", "/v1/predictions/DJIA", None),
                ("GET", "/v1/models", None),
                ("POST", "/v1/prices", {"symbol": "DJIA", "items": [BAR]}),
                ("POST", "/v1/headlines", {"items": [{"date": "2016-06-24", "text": "Hi"}]}),
            ]:
                resp = http.request(method, path, json=body)
                assert resp.status_code == 503, (path, resp.status_code, resp.text)
                assert resp.json()["detail"].startswith("database unavailable")
                assert int(resp.headers["retry-after"]) > 0
            assert http.get("/healthz").status_code == 200
            ready = http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["ready"] is False
            assert ready.json()["checks"]["database"].startswith("error")
        finally:
            private_pg.start()
        day = http.get("/v1/events", params={"date": "2016-06-24"})
        assert day.status_code == 200, day.text
        # No model is trained here, so /readyz stays 503; its database check recovers.
        assert http.get("/readyz").json()["checks"]["database"] == "ok"
        again = http.post("/v1/prices", json={"symbol": "DJIA", "items": [BAR]})
        assert again.status_code == 200 and again.json()["already_present"] == 1


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_overlapping_writers_in_different_orders(http, live) -> None:  # type: ignore[no-untyped-def]
    """8 clients post the same 2,000 headlines, each in its own order and batch size, at once.

    Before the fix (rows inserted in client order inside a transaction held open through
    extraction) 13 of 85 requests answered 500 with DeadlockDetected.
    """
    items = _headlines(2000)
    sizes = [50, 100, 125, 250, 333, 500, 1000, 2000]

    def client(k: int) -> list[tuple[int, int]]:
        order = items[:]
        random.Random(k).shuffle(order)
        size = sizes[k]
        out = []
        with httpx.Client(base_url=live.base_url, timeout=300) as c:
            for i in range(0, len(order), size):
                resp = c.post("/v1/headlines", json={"items": order[i : i + size]})
                ok = resp.status_code == 200
                out.append((resp.status_code, resp.json()["inserted"] if ok else 0))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [r for rs in pool.map(client, range(8)) for r in rs]
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: len(results)}, statuses
    assert sum(inserted for _, inserted in results) == 2000
    assert live.count("headlines") == 2000
    with httpx.Client(base_url=live.base_url, timeout=30) as c:
        wait_until_processed(c)  # the service's extractor drains what the writers stored
    with live.app.state.sessionmaker() as session:
        distinct = session.execute(
            text("SELECT COUNT(DISTINCT (source, date, content_hash)) FROM headlines")
        ).scalar_one()
        pending = session.execute(
            text("SELECT COUNT(*) FROM headlines WHERE extracted_version IS NULL")
        ).scalar_one()
    assert distinct == 2000 and pending == 0


def _start_server(url: str, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    """The service in its own process on `url`; no model is trained here (liveness only)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "PYSTOW_HOME": str(PROJECT_ROOT / "var" / "pystow"),
    }
    return start_service(env, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["write", "extraction"])
def test_sigkill_during_a_large_batch_loses_nothing(
    database_url: str, tmp_path: Path, moment: str
) -> None:
    """SIGKILL the service while it stores a large batch (0.3 s after the POST is sent), or
    once its extractor has stored a first chunk of the batch's events and has more to do:
    the batch is stored whole or not at all, and after a restart every stored headline is
    processed once (events unique per headline and position), nothing left pending."""
    items = _headlines(2000)
    proc, base = _start_server(database_url, tmp_path)
    outcome: dict[str, object] = {}

    def post() -> None:
        try:
            outcome["status"] = httpx.post(
                f"{base}/v1/headlines", json={"items": items}, timeout=300
            ).status_code
        except httpx.TransportError as exc:
            outcome["error"] = type(exc).__name__

    def processed_count() -> int:
        with watcher.connect() as conn:
            return conn.execute(
                text("SELECT COUNT(*) FROM headlines WHERE extracted_version IS NOT NULL")
            ).scalar_one()

    watcher = make_engine(database_url)
    sender = threading.Thread(target=post)
    try:
        sender.start()
        if moment == "write":
            time.sleep(0.3)
        else:
            deadline = time.monotonic() + 120
            while not 0 < processed_count() < len(items):
                assert time.monotonic() < deadline, "the extractor stored no chunk"
                time.sleep(0.01)
    finally:  # the kill under test, or the server's stop when the test fails before it
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        sender.join(timeout=60)
        watcher.dispose()

    engine = make_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM headlines")).scalar_one()
        processed = conn.execute(
            text("SELECT COUNT(*) FROM headlines WHERE extracted_version IS NOT NULL")
        ).scalar_one()
    assert stored in (0, len(items)), f"partial batch after SIGKILL: {stored} of {len(items)}"
    if "error" not in outcome:  # answered before the kill: stored whole
        assert outcome["status"] == 200 and stored == len(items)
    if moment == "extraction":
        assert stored == len(items) and 0 < processed < stored  # killed mid-backlog

    proc, base = _start_server(database_url, tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            again = client.post("/v1/headlines", json={"items": items})
            assert again.status_code == 200, again.text
            body = again.json()
            assert body["already_present"] == stored and body["inserted"] == len(items) - stored
            status = wait_until_processed(client)
        assert status["processed"] == len(items)
        with engine.connect() as conn:
            events, keys = conn.execute(
                text(
                    "SELECT COUNT(*), COUNT(DISTINCT (headline_id, position)) FROM events"
                    if not database_url.startswith("sqlite")
                    else "SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT DISTINCT headline_id, "
                    "position FROM events)) FROM events"
                )
            ).one()
        assert events == keys == status["events"] > 0
    finally:
        proc.kill()
        proc.wait(timeout=30)
        engine.dispose()
