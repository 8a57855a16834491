"""One served version's fit, timed in this process: the work of one training job.

    .venv/bin/python benchmarks/bench_fit.py [TARGET] [CUT] [SYMBOL]   # big_move 2016-04-04 DJIA

On the database and artifacts of the settings (DATABASE_URL, ARTIFACTS_DIR, PYSTOW_HOME; a
first start made them), with the embedding its walk-forward chain uses (the one its jobs
name). Loads the series as a trainer does, then fits the version (`fit_cut`: three seeds,
TRAIN_THREADS torch threads) and prints the seconds of each step, the process's peak
resident memory, its CPU seconds in user and kernel mode and its minor page faults during the
fit. `big_move` is the costly one: its KDTCN pools 32 events a day by attention.
"""

from __future__ import annotations

import datetime as dt
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Time one fit; arguments: target, cut (ISO date), symbol."""
    import torch
    from sqlalchemy import select

    from app.db import make_engine, make_sessionmaker
    from app.services.series import load_series
    from app.services.walk_forward import fit_cut
    from app.settings import TRAIN_THREADS, get_settings
    from app.tables import TrainingJob
    from kg.graph import KnowledgeGraph
    from models.targets import get_target

    target = sys.argv[1] if len(sys.argv) > 1 else "big_move"
    cut = dt.date.fromisoformat(sys.argv[2] if len(sys.argv) > 2 else "2016-04-04")
    symbol = sys.argv[3] if len(sys.argv) > 3 else "DJIA"
    torch.set_num_threads(TRAIN_THREADS)
    settings = get_settings()
    settings.ensure_dirs()
    factory = make_sessionmaker(make_engine(settings.database_url))
    started = time.perf_counter()
    graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
    print(f"graph: {time.perf_counter() - started:.1f} s")
    with factory() as session:
        job = session.scalar(
            select(TrainingJob).where(
                TrainingJob.symbol == symbol,
                TrainingJob.target == target,
                TrainingJob.cut == cut,
            )
        )
        if job is None:
            sys.exit(f"no training job of {symbol} {target} at {cut}: run a first start first")
        started = time.perf_counter()
        series = load_series(
            session=session,
            artifacts=settings.artifacts_dir,
            graph=graph,
            symbol=symbol,
            events=True,
            embedding_until=job.embedding_until or job.cut,
            embedding_version=job.embedding_version,
        )
        score_end, seed, n_seeds = job.score_end, job.seed, job.n_seeds
    print(f"series: {time.perf_counter() - started:.1f} s ({len(series.dates)} days)")
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    fit_cut(
        series=series,
        symbol=symbol,
        rule=get_target(target),
        cut=cut,
        score_end=score_end,
        seed=seed,
        n_seeds=n_seeds,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"fit {symbol} {target} up to {cut} ({n_seeds} seeds, {TRAIN_THREADS} thread): "
        f"{wall:.1f} s wall, {after.ru_utime - before.ru_utime:.1f} s user, "
        f"{after.ru_stime - before.ru_stime:.1f} s kernel, "
        f"{after.ru_minflt - before.ru_minflt} minor page faults, "
        f"peak RSS {after.ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
