"""Training jobs: model versions queued in the database and trained by runners.

A job is one cut of a walk-forward chain (symbol, target, model, cut, embedding). Runners
claim jobs newest cut first, so the answers of recent dates come first (within a cut, the
longest expected first, so runners sharing the queue finish about together):

* the claim is a short transaction that marks the job `running` under a lease (`worker`,
  `lease_until`); on PostgreSQL its `SELECT ... FOR UPDATE SKIP LOCKED` keeps two workers
  off the same job, on SQLite the database's single writer does;
* the runner renews the lease while it trains (`renew`); a runner that dies (even by
  SIGKILL) stops renewing, the lease runs out, and the job is claimed again: `attempts`
  counts the claims, and a job that failed `MAX_ATTEMPTS` times is `failed` with its error;
* `finish` records the version and marks the job done in one transaction, and only while
  the lease is still this worker's: a version is never half-recorded, nor recorded twice.

`pending_job` is what the serving rule asks: is a version that would answer a date still
to be trained? `progress` is what /readyz and GET /v1/models report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from app.db import run_transaction
from app.domain import VersionPending
from app.tables import ModelVersion, TrainingJob

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "Claim",
    "claim",
    "claimable_count",
    "enqueue",
    "fail",
    "finish",
    "job_public",
    "pending_error",
    "pending_job",
    "progress",
    "release_own",
    "renew",
    "retry_after",
]

LEASE = dt.timedelta(seconds=90)  # renewed every LEASE / 3 while a runner trains
MAX_ATTEMPTS = 3
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(when: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes (stored as UTC): make them comparable."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    return when


@dataclass(frozen=True)
class Claim:
    """A job claimed by a worker: what to train, and the lease that makes it this worker's."""

    id: int
    symbol: str
    target: str
    name: str
    cut: dt.date
    score_end: dt.date | None
    embedding_version: str | None
    embedding_until: dt.date | None
    seed: int
    n_seeds: int
    train: dict[str, Any]  # TrainConfig fields that differ from the defaults
    worker: str
    attempt: int


def enqueue(
    session: Session,
    *,
    symbol: str,
    target: str,
    cuts: Sequence[tuple[dt.date, dt.date | None]],
    embedding_version: str | None,
    embedding_until: dt.date | None = None,
    name: str = "KDTCN",
    seed: int = 0,
    n_seeds: int = 3,
    train: dict[str, Any] | None = None,
) -> int:
    """Queue a job per (cut, last day scored) of `cuts` unless one for the same symbol,
    target, model, cut and embedding exists (whatever its status) or such a version is
    recorded; how many were queued. In the caller's transaction."""
    known = set(
        session.scalars(
            select(TrainingJob.cut).where(
                TrainingJob.symbol == symbol,
                TrainingJob.target == target,
                TrainingJob.name == name,
                _same_embedding(TrainingJob.embedding_version, embedding_version),
            )
        )
    )
    known |= set(
        session.scalars(
            select(ModelVersion.train_end).where(
                ModelVersion.symbol == symbol,
                ModelVersion.target == target,
                ModelVersion.name == name,
                _same_embedding(ModelVersion.embedding_version, embedding_version),
            )
        )
    )
    added = 0
    for cut, score_end in cuts:
        if cut in known:
            continue
        session.add(
            TrainingJob(
                symbol=symbol,
                target=target,
                name=name,
                cut=cut,
                score_end=score_end,
                embedding_version=embedding_version,
                embedding_until=embedding_until,
                seed=seed,
                n_seeds=n_seeds,
                train=dict(train or {}),
                status=QUEUED,
                attempts=0,
            )
        )
        added += 1
    session.flush()
    return added


def _same_embedding(column: Any, version: str | None) -> Any:
    return column.is_(None) if version is None else column == version


def _claimable(now: dt.datetime) -> Any:
    """Queued jobs, and running ones whose lease ran out (their runner died)."""
    return (TrainingJob.status == QUEUED) | (
        (TrainingJob.status == RUNNING) & (TrainingJob.lease_until < now)
    )


def _expected_seconds() -> Any:
    """A job's expected seconds: the mean of the done jobs of its model and target (NULL
    before one is done)."""
    done = aliased(TrainingJob)
    return (
        select(func.avg(done.seconds))
        .where(
            done.status == DONE, done.name == TrainingJob.name, done.target == TrainingJob.target
        )
        .correlate(TrainingJob)
        .scalar_subquery()
    )


def claim(
    factory: sessionmaker[Session],
    worker: str,
    *,
    only: int | None = None,
    where: Callable[[Any], Any] | None = None,
) -> Claim | None:
    """Claim the claimable job with the newest cut, or job `only`; None when there is none.
    Among the jobs of one cut, the longest expected first (`_expected_seconds`; then the
    lowest id): the oldest cut's short jobs come last, so runners that share a queue finish
    it about together, instead of one training a `big_move` version (30 s) alone while the
    others are done. `where(stmt)` narrows the choice further."""

    def work(session: Session) -> Claim | None:
        now = _now()
        stmt = select(TrainingJob).where(_claimable(now))
        if only is not None:
            stmt = stmt.where(TrainingJob.id == only)
        if where is not None:
            stmt = where(stmt)
        longest = _expected_seconds().desc().nulls_last()
        stmt = stmt.order_by(TrainingJob.cut.desc(), longest, TrainingJob.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=TrainingJob, skip_locked=True)
        job = session.scalars(stmt).first()
        if job is None:
            return None
        if job.attempts >= MAX_ATTEMPTS:  # its runners died every time: give up on it
            job.status, job.finished_at = FAILED, now
            job.error = job.error or f"no runner finished it in {MAX_ATTEMPTS} attempts"
            return work(session)
        job.status, job.worker, job.lease_until = RUNNING, worker, now + LEASE
        job.attempts += 1
        job.started_at = now
        return Claim(
            job.id,
            job.symbol,
            job.target,
            job.name,
            job.cut,
            job.score_end,
            job.embedding_version,
            job.embedding_until,
            job.seed,
            job.n_seeds,
            dict(job.train or {}),
            worker,
            job.attempts,
        )

    return run_transaction(factory, work)


def _own(claim: Claim) -> Any:
    return (
        (TrainingJob.id == claim.id)
        & (TrainingJob.worker == claim.worker)
        & (TrainingJob.status == RUNNING)
        & (TrainingJob.attempts == claim.attempt)
    )


def renew(factory: sessionmaker[Session], claim: Claim) -> bool:
    """Extend the lease; False when the job is no longer this worker's (its lease ran out
    and another runner took it)."""

    def work(session: Session) -> bool:
        result = session.execute(
            update(TrainingJob).where(_own(claim)).values(lease_until=_now() + LEASE)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    return run_transaction(factory, work)


def finish(
    factory: sessionmaker[Session], claim: Claim, record: Callable[[Session], ModelVersion]
) -> ModelVersion | None:
    """Record the version (`record(session)`) and mark the job done, in one transaction;
    None (nothing written) when the job is no longer this worker's."""

    def work(session: Session) -> ModelVersion | None:
        job = session.scalars(select(TrainingJob).where(_own(claim))).first()
        if job is None:
            return None
        row = record(session)
        now = _now()
        started = _aware(job.started_at) or now
        job.status, job.version_id, job.finished_at = DONE, row.id, now
        job.seconds = round((now - started).total_seconds(), 1)
        job.lease_until, job.error = None, None
        return row

    return run_transaction(factory, work)


def fail(factory: sessionmaker[Session], claim: Claim, error: str) -> None:
    """A run of the job raised: queue it again, or mark it failed after MAX_ATTEMPTS."""

    def work(session: Session) -> None:
        job = session.scalars(select(TrainingJob).where(_own(claim))).first()
        if job is None:
            return
        job.error = error[:2000]
        job.lease_until = None
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = FAILED, _now()
        else:
            job.status = QUEUED

    run_transaction(factory, work)


def release_own(factory: sessionmaker[Session], worker: str) -> int:
    """Queue again the running jobs of `worker` (a runner starting again under the same
    name, e.g. the service's own after a crash, need not wait for their leases)."""

    def work(session: Session) -> int:
        result = session.execute(
            update(TrainingJob)
            .where(TrainingJob.status == RUNNING, TrainingJob.worker == worker)
            .values(status=QUEUED, lease_until=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    return run_transaction(factory, work)


def claimable_count(session: Session) -> int:
    """How many jobs a runner could claim now."""
    return int(session.scalar(select(func.count()).where(_claimable(_now()))) or 0)


def pending_job(
    session: Session,
    *,
    symbol: str,
    target: str,
    after: dt.date | None,
    until: dt.date,
    universe: bool = False,
) -> TrainingJob | None:
    """The queued or running job with the newest cut in (`after`, `until`]: a version that
    would answer in place of the one recorded (cut `after`, None: no version), not yet
    trained. `universe`: a job of the universe network called `symbol`, not of a symbol's
    own versions."""
    from app.services.universe import UNIVERSE_MODEL

    of_universe = TrainingJob.name == UNIVERSE_MODEL
    stmt = select(TrainingJob).where(
        TrainingJob.symbol == symbol,
        TrainingJob.target == target,
        of_universe if universe else ~of_universe,
        TrainingJob.status.in_((QUEUED, RUNNING)),
        TrainingJob.cut <= until,
    )
    if after is not None:
        stmt = stmt.where(TrainingJob.cut > after)
    return session.scalars(stmt.order_by(TrainingJob.cut.desc()).limit(1)).first()


def pending_error(session: Session, job: TrainingJob, answers: str) -> VersionPending:
    """The 503 of an answer whose version is `job`, still to be trained: what the version
    `answers` (e.g. "DJIA (next_day) on 2016-06-24"), the job, and when to ask again."""
    wait = retry_after(session, job)
    return VersionPending(
        f"the version that answers {answers}, fitted up to {job.cut}, is {job.status} for "
        f"training (job {job.id}); retry in about {wait} s",
        job_public(job),
        wait,
    )


def retry_after(session: Session, job: TrainingJob) -> int:
    """Seconds until `job` is likely done: the jobs claimed before it (newer cuts first) and
    itself at the mean time of a finished job, shared among the runners seen working (5 s
    at least, 60 s when no job has finished yet)."""
    mean = session.scalar(select(func.avg(TrainingJob.seconds)).where(TrainingJob.status == DONE))
    if mean is None:
        return 60
    ahead = session.scalar(
        select(func.count()).where(
            TrainingJob.status.in_((QUEUED, RUNNING)),
            (TrainingJob.cut > job.cut)
            | ((TrainingJob.cut == job.cut) & (TrainingJob.id < job.id)),
        )
    )
    return max(5, round((int(ahead or 0) + 1) * float(mean) / _runners(session)))


def _runners(session: Session) -> int:
    return (
        session.scalar(
            select(func.count(func.distinct(TrainingJob.worker))).where(
                TrainingJob.status == RUNNING
            )
        )
        or 1
    )


def job_public(job: TrainingJob) -> dict[str, Any]:
    """A job as an answer names it."""
    return {
        "id": job.id,
        "symbol": job.symbol,
        "target": job.target,
        "model": job.name,
        "cut": job.cut.isoformat(),
        "status": job.status,
        "attempts": job.attempts,
    }


def progress(session: Session) -> dict[str, Any]:
    """Jobs by status, the mean seconds of a finished one, and an estimate of the seconds
    left (queued and running jobs at that mean, divided among the runners seen working)."""
    rows = session.execute(
        select(TrainingJob.status, func.count()).group_by(TrainingJob.status)
    ).all()
    counts = {str(status): int(n) for status, n in rows}
    mean = session.scalar(select(func.avg(TrainingJob.seconds)).where(TrainingJob.status == DONE))
    runners = _runners(session)
    left = counts.get(QUEUED, 0) + counts.get(RUNNING, 0)
    return {
        "done": counts.get(DONE, 0),
        "queued": counts.get(QUEUED, 0),
        "running": counts.get(RUNNING, 0),
        "failed": counts.get(FAILED, 0),
        "mean_job_seconds": round(float(mean), 1) if mean is not None else None,
        "estimated_seconds_left": (
            0 if not left else round(left * float(mean) / runners) if mean is not None else None
        ),
    }
