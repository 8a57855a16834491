"""Ingestion: how fast a write is answered, and how fast workers drain a backlog.

    .venv/bin/python benchmarks/bench_ingest.py [n_post] [n_drain]    # 5000 20000

1. Writes. `kdtcn serve --no-bootstrap` in its own process on a fresh database (a SQLite
   file, then a private PostgreSQL started with initdb in a temporary folder), answers three
   POST /v1/headlines of `n_post` new headlines of the real news each. Its background
   extractor runs meanwhile, as in use: the second and third writes compete with it. On
   PostgreSQL also without it (EXTRACT_IN_PROCESS=false), as an API replica of
   docker-compose.yml runs.
2. Workers. `n_drain` headlines stored pending in a fresh PostgreSQL database, drained by
   `kdtcn worker --drain` processes (1, then 2 on another fresh database). The rate is
   counted from the database between the first chunk stored and the last, so the workers'
   start-up (spaCy and the KG, a few seconds) is left out.
3. The same headlines through a bare `nlp.pipe` and through the extraction pipeline (spaCy,
   event rules, linking), each in a freshly loaded pipeline: the ceiling of one process.

Needs the PostgreSQL server binaries (apt-get install postgresql). Prints figures only.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import make_engine, make_sessionmaker  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.schemas import HeadlineIn  # noqa: E402
from app.services.headlines import store_headlines  # noqa: E402
from app.tables import Headline  # noqa: E402
from kg.text import clean_headline  # noqa: E402
from tests.liveserver import service_process  # noqa: E402
from tests.pgserver import PostgresServer, find_pg_bin  # noqa: E402


def reddit(n: int, skip: int = 0) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    with gzip.open(ROOT / "data/djia_reddit/RedditNews.csv.gz", "rt", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i < skip or not clean_headline(row["News"]):
                continue
            out.append({"date": row["Date"], "text": row["News"]})
            if len(out) == n:
                break
    return out


def env_for(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATABASE_URL=url, **extra)
    return env


def bench_writes(url: str, label: str, n: int, tmp: Path, *, extract: bool = True) -> None:
    upgrade(url)
    env = env_for(
        url,
        ARTIFACTS_DIR=str(tmp / f"artifacts-{label}"),
        EXTRACT_IN_PROCESS=str(extract).lower(),
    )
    with service_process(env) as client:
        times = []
        for k in range(3):
            batch = reddit(n, skip=k * (n + 500))
            started = time.perf_counter()
            resp = client.post("/v1/headlines", json={"items": batch})
            times.append(time.perf_counter() - started)
            resp.raise_for_status()
            body = resp.json()
        status = client.get("/v1/ingest").json()
    print(
        f"{label:10s} {'' if extract else 'no ':3s}extractor  POST of {n} headlines: "
        + ", ".join(f"{t * 1000:.0f} ms" for t in times)
        + f" (last: {body['inserted']} inserted, {body['pending']} pending; backlog then "
        f"{status['pending']}, processed {status['processed']})"
    )


def drain(url: str, items: list[HeadlineIn], workers: int) -> float:
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    stored = store_headlines(factory=factory, items=items)
    n = stored.inserted
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--drain"],
            cwd=ROOT,
            env=env_for(url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]

    def processed() -> int:
        with factory() as session:
            return int(
                session.scalar(select(func.count()).where(Headline.extracted_version.is_not(None)))
                or 0
            )

    first = None
    while True:
        done = processed()
        if first is None and done:
            first = (time.perf_counter(), done)
        if done == n:
            break
        if all(p.poll() is not None for p in procs):
            raise RuntimeError(f"workers exited with {done} of {n} processed")
        time.sleep(0.05)
    ended = time.perf_counter()
    for p in procs:
        p.wait(60)
    engine.dispose()
    assert first is not None
    rate = (n - first[1]) / (ended - first[0])
    print(f"{workers} worker(s): {n} headlines, {rate:.0f} headlines/s (after the first chunk)")
    return rate


def main() -> None:
    n_post = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    n_drain = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("needs the PostgreSQL server binaries")
    pg = PostgresServer(bin_dir)
    pg.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            bench_writes(f"sqlite:///{tmp / 'bench.sqlite3'}", "SQLite", n_post, tmp)
            bench_writes(pg.create_database("writes"), "PostgreSQL", n_post, tmp)
            # as docker-compose.yml deploys an API replica: workers extract, not the API
            bench_writes(pg.create_database("replica"), "PostgreSQL", n_post, tmp, extract=False)
        rows = reddit(n_drain)
        items = [HeadlineIn(date=dt.date.fromisoformat(r["date"]), text=r["text"]) for r in rows]
        one = drain(pg.create_database("drain1"), items, 1)
        two = drain(pg.create_database("drain2"), items, 2)
        print(f"2 workers / 1 worker: {two / one:.2f}x (aim >= 1.7x)")
    finally:
        pg.stop()

    texts = [clean_headline(r["text"]) for r in rows]
    warmup = [clean_headline(r["text"]) for r in reddit(200, skip=n_drain + 1000)]
    bare = one_process(texts, warmup, lambda p, t: [None for _ in p.nlp.pipe(t, batch_size=256)])
    full = one_process(texts, warmup, lambda p, t: p.process(t))
    print(f"one process: bare nlp.pipe {bare:.0f} headlines/s, extraction + linking {full:.0f}")
    print(f"one worker / bare nlp.pipe: {one / bare:.2f}x (aim >= 0.9x)")
    print(f"one worker / extraction + linking: {one / full:.2f}x")


def one_process(texts: list[str], warmup: list[str], run: Callable[[Any, list[str]], Any]) -> float:
    """Headlines/s of `run` over `texts` with a freshly loaded pipeline, as a worker has: its
    vocabulary has not seen these texts (a second pass over the same texts runs ~1.3x
    faster, the new words' lexemes being made once), warmed up on other headlines."""
    from kg.pipeline import EventPipeline

    pipeline = EventPipeline.load(data_dir=ROOT / "data")
    pipeline.process(warmup)
    started = time.perf_counter()
    run(pipeline, texts)
    return len(texts) / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
