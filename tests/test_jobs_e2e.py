"""Training jobs end to end, on copies of the e2e world (real data, real training):

* a chain trained through the queue gives the versions inline training gives (same data,
  settings and seeds: the same metrics and configuration);
* while a version is queued, a prediction it would answer is 503 with Retry-After and the job,
  /readyz and GET /v1/models say how many are queued; `kdtcn worker` processes train them;
* a worker killed (SIGKILL) in the middle of a job records nothing of it, and the job runs
  again once its lease has run out (the lease's expiry is written, not waited for).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, func, select, update

from app.db import transaction
from app.services.job_runner import JobRunner
from app.services.walk_forward import enqueue_walk_forward
from app.tables import ModelVersion, TrainingJob
from models.train import TrainConfig
from tests.worlds import BREXIT, FIRST_CUT, World

ROOT = Path(__file__).resolve().parent.parent
# As tests.worlds.build_e2e_world trains its chains
CHAIN = {"start": FIRST_CUT + dt.timedelta(days=1), "every": 21, "n_seeds": 1}
CONFIG = TrainConfig(epochs=6, patience=3)


def _embedding(world: World) -> str:
    with world.factory() as session:
        version = session.scalar(
            select(ModelVersion.embedding_version).where(
                ModelVersion.embedding_version.is_not(None)
            )
        )
    assert version
    return version


def _enqueue(world: World, pipeline: Any, symbol: str, target: str) -> int:
    with transaction(world.factory) as session:
        added, _ = enqueue_walk_forward(
            session=session,
            artifacts=world.artifacts,
            graph=pipeline.graph,
            symbol=symbol,
            targets=[target],
            embedding_version=_embedding(world),
            config=CONFIG,
            **CHAIN,
        )
    return added


def _versions(world: World, symbol: str, target: str) -> dict[dt.date, ModelVersion]:
    with world.factory() as session:
        rows = session.scalars(
            select(ModelVersion).where(ModelVersion.symbol == symbol, ModelVersion.target == target)
        ).all()
    return {row.train_end: row for row in rows}


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "version"}


def test_a_chain_trained_as_jobs_is_the_chain_trained_inline(e2e_world, pipeline, tmp_path) -> None:  # type: ignore[no-untyped-def]
    inline = _versions(e2e_world, "DJIA", "same_day")
    assert len(inline) >= 3
    world = e2e_world.copy(tmp_path / "world")
    try:
        with transaction(world.factory) as session:
            session.execute(
                delete(ModelVersion).where(
                    ModelVersion.symbol == "DJIA", ModelVersion.target == "same_day"
                )
            )
        assert _enqueue(world, pipeline, "DJIA", "same_day") == len(inline)
        runner = JobRunner(world.factory, world.artifacts, pipeline.graph, worker="test")
        while runner.step():
            pass
        assert runner.trained == len(inline)
        queued = _versions(world, "DJIA", "same_day")
        assert sorted(queued) == sorted(inline)
        for cut, row in queued.items():
            assert row.metrics == inline[cut].metrics, cut
            assert _comparable(row.config) == _comparable(inline[cut].config), cut
        with world.factory() as session:
            statuses = session.scalars(select(TrainingJob.status)).all()
        assert statuses == ["done"] * len(inline)
    finally:
        world.engine.dispose()


def _worker(world: World, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ARTIFACTS_DIR")}
    env.update(
        DATABASE_URL=world.url,
        ARTIFACTS_DIR=str(world.artifacts),
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--no-extract", "--poll", "0.5", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_queued_versions_answer_503_until_workers_train_them_and_a_killed_job_runs_again(
    e2e_world, pipeline, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    world = e2e_world.copy(tmp_path / "world")
    settings = world.settings().model_copy(update={"train_in_process": False})
    n = _enqueue(world, pipeline, "GSPC", "next_day")
    assert n >= 3
    from app.main import create_app
    from tests.liveserver import LiveServer, free_port

    app = create_app(settings, pipeline_factory=lambda _s: pipeline)
    try:
        with (
            LiveServer(app, free_port()) as server,
            httpx.Client(base_url=server.base_url, timeout=120) as http,
        ):
            asked = {"date": BREXIT, "target": "next_day"}
            pending = http.get("/v1/predictions/GSPC", params=asked)
            assert pending.status_code == 503, pending.text
            assert int(pending.headers["Retry-After"]) >= 5
            job = pending.json()["job"]
            assert job["symbol"] == "GSPC" and job["target"] == "next_day"
            assert job["status"] == "queued" and job["cut"] < BREXIT
            ready = http.get("/readyz").json()
            assert ready["ready"] is True  # other versions answer meanwhile
            assert ready["checks"]["training"]["queued"] == n
            # Another target of the same symbol answers while these wait.
            other = {"date": BREXIT, "target": "same_day"}
            assert http.get("/v1/predictions/GSPC", params=other).status_code == 200

            # A worker claims the newest job; killed in the middle of it, it records nothing.
            first = _worker(world)
            deadline = time.monotonic() + 180
            while True:
                with world.factory() as session:
                    running = session.scalars(
                        select(TrainingJob).where(TrainingJob.status == "running")
                    ).first()
                if running is not None:
                    break
                assert first.poll() is None, first.communicate()[0]
                assert time.monotonic() < deadline, "the worker claimed no job"
                time.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=30)
            assert not _versions(world, "GSPC", "next_day")
            with transaction(world.factory) as session:  # its lease runs out
                past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
                session.execute(
                    update(TrainingJob).where(TrainingJob.id == running.id).values(lease_until=past)
                )

            drain = _worker(world, "--drain")
            out, _ = drain.communicate(timeout=900)
            assert drain.returncode == 0, out
            assert f"trained {n} in" in out, out

            versions = _versions(world, "GSPC", "next_day")
            assert len(versions) == n  # each cut once: nothing of the killed run recorded
            with world.factory() as session:
                killed = session.get(TrainingJob, running.id)
                assert killed is not None and killed.status == "done" and killed.attempts == 2
                done = session.scalar(select(func.count()).where(TrainingJob.status == "done"))
            assert done == n
            answer = http.get("/v1/predictions/GSPC", params=asked)
            assert answer.status_code == 200, answer.text
            assert answer.json()["model"]["train_until"] == job["cut"]
            models = http.get("/v1/models").json()
            assert models["training"]["done"] == n and models["training"]["queued"] == 0
    finally:
        world.engine.dispose()


def test_the_service_trains_queued_versions_in_its_background_processes(
    e2e_world, pipeline, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    world = e2e_world.copy(tmp_path / "world")
    settings = world.settings().model_copy(
        update={"train_in_process": True, "train_workers": 2, "train_threads": 1}
    )
    n = _enqueue(world, pipeline, "GSPC", "big_move")
    from app.main import create_app
    from tests.liveserver import LiveServer, free_port

    app = create_app(settings, pipeline_factory=lambda _s: pipeline)
    try:
        with (
            LiveServer(app, free_port()) as server,
            httpx.Client(base_url=server.base_url, timeout=120) as http,
        ):
            deadline = time.monotonic() + 600
            while True:
                training = http.get("/readyz").json()["checks"]["training"]
                if training["done"] == n:
                    break
                assert training["failed"] == 0, training
                assert time.monotonic() < deadline, training
                time.sleep(0.5)
            assert training["queued"] == training["running"] == 0
            assert training["mean_job_seconds"] > 0
            with world.factory() as session:
                workers = set(session.scalars(select(TrainingJob.worker)))
            assert workers and all(":serve:" in w for w in workers), workers
            asked = {"date": BREXIT, "target": "big_move"}
            answer = http.get("/v1/predictions/GSPC", params=asked)
            assert answer.status_code == 200, answer.text
        assert len(_versions(world, "GSPC", "big_move")) == n
        # Stopped with the service: no trainer process outlives it.
        trainer = app.state.trainer
        assert trainer is not None and not any(p.is_alive() for p in trainer._procs)
    finally:
        world.engine.dispose()
