"""The service's background training: trainer processes, each a JobRunner
(app.services.job_runner) that trains queued jobs until none is claimable."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.services.job_runner import JobRunner, service_name
from app.settings import TRAIN_THREADS

__all__ = ["TrainerProcesses"]

log = logging.getLogger(__name__)


class TrainerProcesses:
    """The service's background training: while jobs are claimable, `n` spawned processes,
    each a JobRunner with `threads` torch threads that exits when it finds no job to claim.
    A thread of the service looks for claimable jobs every `poll` seconds and starts the
    processes again when some are queued, so an idle service holds none. A process stops on
    SIGTERM, and by itself when the service is gone.

    The default, a process per core (Settings.train_workers) of one thread each
    (app.settings.TRAIN_THREADS), trains exactly the versions an inline `kdtcn train` gives
    (torch's sums depend on its thread count). On two cores, two processes of one thread each
    train 1.35x as fast as one of two threads, and two of two threads half as fast
    (benchmarks/bench_training.py)."""

    def __init__(
        self,
        settings: Any,
        factory: sessionmaker[Session],
        n: int,
        *,
        threads: int = TRAIN_THREADS,
        poll: float = 2.0,
    ) -> None:
        """`settings`: the service's (each process opens the database and artifacts they
        name); `factory`: the service's sessions, to look for jobs and to queue again the
        ones a previous run's processes held."""
        self.settings = settings
        self.factory = factory
        self.n = n
        self.threads = threads
        self.poll = poll
        self.names = [service_name(settings, k) for k in range(n)]
        self._procs: list[Any] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Queue again the jobs these names held, then watch for claimable jobs."""
        from app.services.jobs import release_own

        for name in self.names:
            if released := release_own(self.factory, name):
                log.info("queued again %d job(s) that %s held", released, name)
        self._thread = threading.Thread(target=self._watch, name="trainers", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        from app.services.jobs import claimable_count

        while not self._stop.wait(self.poll):
            if any(proc.is_alive() for proc in self._procs):
                continue
            try:
                with self.factory() as session:
                    waiting = claimable_count(session)
            except Exception:  # the database away for a moment: look again later
                log.warning("looking for training jobs failed", exc_info=True)
                continue
            if waiting and not self._stop.is_set():
                self._spawn(min(self.n, waiting))

    def _spawn(self, n: int) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        values = self.settings.model_dump(mode="json")
        self._procs = []
        for name in self.names[:n]:
            proc = ctx.Process(
                target=_train_until_idle,
                args=(values, name, os.getpid(), self.threads),
                name=f"trainer-{name.rsplit(':', 1)[-1]}",
                daemon=True,
            )
            proc.start()
            self._procs.append(proc)
        log.info("%d training process(es) started", n)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching and stop the processes: a job in hand is not recorded (it is
        queued again at the next start, or when its lease runs out)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.poll + 1)
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5)


def _train_until_idle(values: dict[str, Any], name: str, parent: int, threads: int) -> None:
    """A trainer process: a JobRunner with `threads` torch threads that trains until no job
    is claimable, SIGTERM, or its parent's end."""
    import signal

    from app.db import make_engine, make_sessionmaker
    from app.settings import Settings
    from kg.graph import KnowledgeGraph

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings(**values)
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    runner = JobRunner(
        make_sessionmaker(engine),
        settings.artifacts_dir,
        lambda: KnowledgeGraph.load(settings.data_dir / "wd40k"),
        worker=name,
        threads=threads,
        parent=parent,
        reference=settings.company_reference,
    )
    signal.signal(signal.SIGTERM, lambda *_: runner.stop(timeout=0))
    try:
        runner.run(until_idle=True)
    finally:
        engine.dispose()
