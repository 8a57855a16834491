"""The runner of training jobs (app.services.jobs): a thread of `kdtcn serve`, or the
foreground of `kdtcn worker`.

It claims a job, renews the job's lease from a second thread while it fits the version
(app.services.walk_forward.fit_cut: the same fit, data, settings and seeds as an inline
`kdtcn train --walk-forward`), saves the version's files, then records the version and
marks the job done in one transaction. A job that raises is queued again (up to
jobs.MAX_ATTEMPTS). A symbol's series (its price rows and embedded events) is loaded once per
embedding and kept for the next job of the same chain while the symbol's bars are unchanged.

A job of a universe chain (name `kdtcn-universe`, its symbol the universe; queued by `kdtcn
train-universe --walk-forward --enqueue`) fits that universe's version the way `kdtcn
train-universe` does (app.services.universe.fit_universe_version), reading the database in a
session of its own, and records it the same way: `kg_epochs` of its `train` settings is the
embedding's epochs, its seeds are 0..n_seeds-1.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.services.jobs import LEASE, Claim, claim, fail, finish, renew
from app.services.universe import (
    UNIVERSE_MODEL,
    fit_universe_version,
    record_universe,
    save_universe,
)
from app.settings import TRAIN_THREADS
from app.tables import ModelVersion, Price

__all__ = ["JobRunner", "service_runner", "service_name", "worker_name"]

log = logging.getLogger(__name__)


def worker_name(kind: str = "worker") -> str:
    """A name for a runner's leases: host, process id and `kind`."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{kind}"


def service_name(settings: Any, k: int | None = None) -> str:
    """The lease name of the service's runner `k` (None: its first start's): fixed per host
    and artifacts folder, so a service started again queues the jobs its previous run held
    (cut short by a crash or a stop) at once instead of waiting for their leases."""
    folder = str(Path(settings.artifacts_dir).resolve())[-20:]
    suffix = "" if k is None else f":{k}"
    return f"{socket.gethostname()[:30]}:serve:{folder}{suffix}"


def service_runner(settings: Any, factory: sessionmaker[Session], graph: Any) -> JobRunner:
    """The runner of the first start, in the service's own process (`train_threads` torch
    threads, as its trainer processes)."""
    from app.services.jobs import release_own

    name = service_name(settings)
    released = release_own(factory, name)
    if released:
        log.info("queued again %d job(s) a previous run of this service held", released)
    return JobRunner(
        factory,
        settings.artifacts_dir,
        graph,
        worker=name,
        threads=settings.train_threads,
        reference=settings.company_reference,
    )


class JobRunner:
    """Claim and train jobs until stopped (`run`, `start`) or one at a time (`step`)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        artifacts: Path,
        graph: Any,
        *,
        worker: str | None = None,
        poll: float = 2.0,
        threads: int = TRAIN_THREADS,
        on_done: Callable[[Claim, ModelVersion, float], None] | None = None,
        parent: int | None = None,
        reference: Path | None = None,
    ) -> None:
        """Train into the database of `factory` and the `artifacts` folder, with `graph`
        for the event embedders (or a function that loads it, called at the first job);
        `worker`: the name its leases carry; `poll`: seconds between looks when no job is
        claimable; `threads`: torch's threads while training (TRAIN_THREADS: the versions
        `kdtcn train` gives); `on_done(job, version, seconds)` after each job recorded;
        `parent`: a process id whose end stops the loop (a trainer process of the service);
        `reference`: the companies' reference list that universe jobs read
        (Settings.company_reference; a universe job fails without it)."""
        self.factory = factory
        self.artifacts = Path(artifacts)
        self.graph = graph
        self.worker = worker or worker_name()
        self.poll = poll
        self.threads = threads
        self.on_done = on_done
        self.parent = parent
        self.reference = reference
        self._linker: Any = None
        self.trained = 0
        self._series: LRUCache[tuple[Any, ...], Any] = LRUCache(maxsize=2)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, *, only: int | None = None) -> bool:
        """Claim one job (job `only`, if given) and train it; whether one was claimed."""
        job = claim(self.factory, self.worker, only=only)
        if job is None:
            return False
        self.train(job)
        return True

    def train(self, job: Claim) -> ModelVersion | None:
        """Fit, save and record a claimed job's version (None: it failed or was lost)."""
        import torch

        from app.services.training import record_trained, save_trained
        from app.services.walk_forward import fit_cut
        from models.targets import get_target
        from models.train import TrainConfig

        torch.set_num_threads(self.threads)
        started = time.perf_counter()
        lost = threading.Event()
        beat = threading.Event()
        heart = threading.Thread(
            target=self._renew, args=(job, beat, lost), name="job-lease", daemon=True
        )
        heart.start()
        try:
            if job.name == UNIVERSE_MODEL:
                universe = self._fit_universe(job)
            else:
                trained = fit_cut(
                    series=self._series_of(job),
                    symbol=job.symbol,
                    rule=get_target(job.target),  # the claimed job names its target
                    cut=job.cut,
                    score_end=job.score_end,
                    name=job.name,
                    seed=job.seed,
                    n_seeds=job.n_seeds,
                    config=TrainConfig(**job.train),
                )
            if lost.is_set():
                log.warning("job %d: lease lost while training; not recorded", job.id)
                return None
            if job.name == UNIVERSE_MODEL:
                folder = save_universe(self.artifacts, universe)
                row = finish(self.factory, job, lambda s: record_universe(s, universe, folder))
            else:
                saved, path = save_trained(self.artifacts, trained)
                row = finish(
                    self.factory, job, lambda s: record_trained(s, saved, path, trained.metrics)
                )
        except Exception as exc:  # a bad job must not stop the runner: recorded, retried
            log.exception("job %d (%s %s %s) failed", job.id, job.symbol, job.target, job.cut)
            fail(self.factory, job, "".join(traceback.format_exception_only(exc)).strip())
            return None
        finally:
            beat.set()
            heart.join()
        if row is None:
            log.warning(
                "job %d: another runner holds it now; its files are left unrecorded", job.id
            )
            return None
        seconds = time.perf_counter() - started
        self.trained += 1
        log.debug("trained %s %s up to %s in %.1f s", job.symbol, job.target, job.cut, seconds)
        if self.on_done is not None:
            self.on_done(job, row, seconds)
        return row

    def _renew(self, job: Claim, done: threading.Event, lost: threading.Event) -> None:
        while not done.wait(LEASE.total_seconds() / 3):
            try:
                if not renew(self.factory, job):
                    lost.set()
                    return
            except Exception:  # the database away for a moment: try again at the next beat
                log.warning("job %d: lease renewal failed", job.id, exc_info=True)

    def _fit_universe(self, job: Claim) -> Any:
        """The universe version of a universe job, fitted as `kdtcn train-universe` fits it."""
        from kg.link import EntityLinker

        if self.reference is None:
            raise ValueError(f"job {job.id} trains a universe: this runner has no reference list")
        graph = self._graph()
        if self._linker is None:
            self._linker = EntityLinker(graph)
        with self.factory() as session:
            return fit_universe_version(
                session,
                universe=job.symbol,
                until=job.cut,
                graph=graph,
                linker=self._linker,
                artifacts=self.artifacts,
                reference=self.reference,
                epochs=int(job.train.get("kg_epochs", 25)),
                seeds=tuple(range(job.n_seeds)),
            )

    def _series_of(self, job: Claim) -> Any:
        from app.services.series import load_series
        from models.zoo import NEURAL_MODELS

        with self.factory() as session:
            bars = tuple(
                session.execute(
                    select(func.count(), func.max(Price.id)).where(Price.symbol == job.symbol)
                ).one()
            )
            key = (job.symbol, job.embedding_version, job.embedding_until, bars)
            series = self._series.get(key)
            if series is None:
                events = NEURAL_MODELS[job.name].events is not None
                if events and job.embedding_until is None:
                    raise ValueError(f"job {job.id} names no embedding date")
                series = load_series(
                    session=session,
                    artifacts=self.artifacts,
                    graph=self._graph(),
                    symbol=job.symbol,
                    events=events,
                    embedding_until=job.embedding_until or job.cut,
                    embedding_version=job.embedding_version,
                )
                self._series[key] = series
        return series

    def _graph(self) -> Any:
        if callable(self.graph):
            self.graph = self.graph()
            # Kept for the runner's life: its ~800k objects are left out of the cyclic
            # collector, whose full collections walked them all (loading a series of the
            # demo took 13 s, against 10 s so).
            gc.freeze()
        return self.graph

    def run(self, *, until_idle: bool = False) -> None:
        """The loop, in the calling thread, until `stop()`: train while jobs are
        claimable, else look again every `poll` seconds (`until_idle`: return instead)."""
        failures = 0
        busy_since: float | None = None
        while not self._stop.is_set():
            if self.parent is not None and os.getppid() != self.parent:
                log.info("the service is gone: this trainer stops")
                return
            at = time.perf_counter()
            try:
                ran = self.step()
                failures = 0
            except Exception:  # the database away: log, back off, go on
                failures += 1
                log.exception("job runner failed (%d in a row)", failures)
                self._stop.wait(min(30.0, 0.5 * 2**failures))
                continue
            if ran and busy_since is None:
                busy_since, trained_before = at, self.trained - 1
            if not ran:
                if busy_since is not None:
                    log.info(
                        "no training job left: trained %d in %.0f s",
                        self.trained - trained_before,
                        time.perf_counter() - busy_since,
                    )
                    busy_since = None
                if until_idle:
                    return
                self._stop.wait(self.poll)

    def start(self) -> None:
        """Run the loop in a daemon thread (the service's background training)."""
        self._thread = threading.Thread(target=self.run, name="job-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to stop after the job in hand. The service does not wait for a job
        to finish: a job cut short is not recorded, and its lease runs out (or the next
        start of the same runner queues it again)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
