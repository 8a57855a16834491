"""Training jobs on PostgreSQL: one `kdtcn worker` against two, on the same queued chain.

    .venv/bin/python benchmarks/bench_training.py          # BENCH_START=2013-01-02 by default

Builds a world on a private PostgreSQL server (tests.pgserver; initdb in a temporary folder,
127.0.0.1 only, stopped at the end): the DJIA + Reddit data from BENCH_START, its events
extracted and linked, one TransE embedding of the data up to 2014-12-31 (3 epochs). Queues
the demo's walk-forward chain (a version per target every 63 trading days from 2015-01-02, 3
seeds, as the first start does), then times `kdtcn worker --drain --no-extract` processes
until every job is done, in each configuration of BENCH_CONFIGS (workers x torch threads
each; default 1x2, 2x1, 2x2), the versions and jobs reset between them. Prints the wall
time of each (process start included), the jobs' own seconds, and the speed-ups.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, select, update  # noqa: E402

from app.db import transaction  # noqa: E402
from app.tables import ModelVersion, TrainingJob  # noqa: E402
from models.targets import TARGETS  # noqa: E402
from tests.pgserver import started_server  # noqa: E402
from tests.worlds import build_world  # noqa: E402

START = os.environ.get("BENCH_START", "2013-01-02")
TARGETS_RUN = os.environ.get("BENCH_TARGETS", ",".join(TARGETS)).split(",")
# workers x torch threads each, in the order run
CONFIGS = [
    tuple(int(n) for n in c.split("x"))
    for c in os.environ.get("BENCH_CONFIGS", "1x2,2x1,2x2").split(",")
]


def drain(url: str, artifacts: Path, workers: int, threads: int) -> float:
    env = {**os.environ, "DATABASE_URL": url, "ARTIFACTS_DIR": str(artifacts)}
    command = [sys.executable, "-m", "app.cli", "worker", "--drain", "--no-extract"]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*command, "--threads", str(threads)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=3600)
        if proc.returncode:
            raise SystemExit(err[-2000:])
    return time.perf_counter() - started


def main() -> None:
    from app.services.walk_forward import enqueue_walk_forward
    from kg.pipeline import EventPipeline

    server = started_server()
    root = Path(tempfile.mkdtemp(prefix="kdtcn-bench-training-"))
    try:
        url = server.create_database("bench")
        pipeline = EventPipeline.load(data_dir=ROOT / "data")
        built = time.perf_counter()
        world, _ = build_world(
            root,
            url,
            pipeline,
            start=START,
            embed_until=dt.date(2014, 12, 31),
            train=lambda _s, _w, _v: None,
        )
        print(f"world from {START} built in {time.perf_counter() - built:.0f} s")
        with transaction(world.factory) as session:
            n, embedding = enqueue_walk_forward(
                session=session,
                artifacts=world.artifacts,
                graph=pipeline.graph,
                symbol="DJIA",
                targets=TARGETS_RUN,
                start=dt.date(2015, 1, 2),
                every=63,
            )
        print(f"{n} jobs queued ({', '.join(TARGETS_RUN)}) on {embedding}")
        walls = {}
        for workers, threads in CONFIGS:
            with transaction(world.factory) as session:
                session.execute(
                    update(TrainingJob).values(
                        status="queued", attempts=0, worker=None, lease_until=None, version_id=None
                    )
                )
                session.execute(delete(ModelVersion))
            wall = drain(url, world.artifacts, workers, threads)
            with world.factory() as session:
                done = session.scalar(select(func.count()).where(TrainingJob.status == "done"))
                job_seconds = session.scalar(select(func.sum(TrainingJob.seconds)))
                by = session.scalar(select(func.count(func.distinct(TrainingJob.worker))))
            assert done == n, (done, n)
            walls[(workers, threads)] = wall
            print(
                f"{workers} worker(s) x {threads} thread(s): {n} versions in {wall:.0f} s "
                f"(jobs' own seconds {job_seconds:.0f}; jobs done by {by} worker(s))"
            )
        one = walls[CONFIGS[0]]
        for config, wall in walls.items():
            print(
                f"{config[0]}x{config[1]}: {one / wall:.2f}x the speed of the first configuration"
            )
        world.engine.dispose()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
