"""The training-job queue (app.services.jobs) on a real migrated SQLite file: newest cut
first, enqueueing twice adds nothing, a lease that runs out lets another runner take the job,
only the lease holder records, a failing job is retried then failed, and what the serving rule
and /readyz read from it. The versions recorded here are bare rows (no model files): these
tests are about the queue; tests/test_jobs_e2e.py trains real versions through it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import upgrade
from app.services import jobs
from app.services.model_versions import record_version
from app.tables import ModelVersion, TrainingJob

CUTS = [
    (dt.date(2016, 1, 4), dt.date(2016, 2, 1)),
    (dt.date(2016, 2, 1), dt.date(2016, 3, 1)),
    (dt.date(2016, 3, 1), dt.date(2016, 3, 31)),
]


@pytest.fixture
def factory(tmp_path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _queue(factory: sessionmaker[Session], target: str = "next_day") -> int:
    with transaction(factory) as session:
        return jobs.enqueue(
            session, symbol="DJIA", target=target, cuts=CUTS, embedding_version="emb-1"
        )


def _record(claim: jobs.Claim):  # type: ignore[no-untyped-def]
    def record(session: Session) -> ModelVersion:
        return record_version(
            session=session,
            name=claim.name,
            symbol=claim.symbol,
            target=claim.target,
            version=f"v-{claim.id}-{claim.attempt}",
            artifact_path="/nowhere",
            embedding_version=claim.embedding_version,
            train_start=dt.date(2010, 1, 4),
            train_end=claim.cut,
            metrics={},
            config={},
        )

    return record


def _expire(factory: sessionmaker[Session], job_id: int) -> None:
    """What the passing of LEASE seconds does to a lease nobody renews."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with transaction(factory) as session:
        session.execute(
            update(TrainingJob).where(TrainingJob.id == job_id).values(lease_until=past)
        )


def test_enqueue_is_idempotent_and_claims_come_newest_cut_first(factory) -> None:  # type: ignore[no-untyped-def]
    assert _queue(factory) == 3
    assert _queue(factory) == 0  # the same chain again: nothing new
    claims = [jobs.claim(factory, "w1") for _ in range(4)]
    assert [c.cut for c in claims[:3] if c] == [cut for cut, _ in reversed(CUTS)]
    assert claims[3] is None  # every job is held
    with factory() as session:
        state = jobs.progress(session)
    assert (state["running"], state["queued"], state["done"]) == (3, 0, 0)


def test_within_a_cut_the_job_expected_to_take_longest_is_claimed_first(factory) -> None:  # type: ignore[no-untyped-def]
    _queue(factory, "next_day")
    _queue(factory, "big_move")
    # Nothing done yet: no expectation, so by id within the newest cut.
    first = jobs.claim(factory, "w1")
    assert first is not None and (first.cut, first.target) == (CUTS[-1][0], "next_day")
    second = jobs.claim(factory, "w1")
    assert second is not None and (second.cut, second.target) == (CUTS[-1][0], "big_move")
    for claimed, seconds in ((first, 3.0), (second, 30.0)):
        assert jobs.finish(factory, claimed, _record(claimed)) is not None
        with transaction(factory) as session:
            session.execute(
                update(TrainingJob).where(TrainingJob.id == claimed.id).values(seconds=seconds)
            )
    # big_move took 10x as long: in each older cut it comes first, queued after though it was.
    order = [jobs.claim(factory, "w1") for _ in range(4)]
    assert [(c.cut, c.target) for c in order if c] == [
        (CUTS[1][0], "big_move"),
        (CUTS[1][0], "next_day"),
        (CUTS[0][0], "big_move"),
        (CUTS[0][0], "next_day"),
    ]


def test_a_version_already_recorded_is_not_queued_again(factory) -> None:  # type: ignore[no-untyped-def]
    _queue(factory)
    job = jobs.claim(factory, "w1")
    assert job is not None and jobs.finish(factory, job, _record(job)) is not None
    with transaction(factory) as session:  # its job row gone, its version stays
        session.execute(TrainingJob.__table__.delete())
    assert _queue(factory) == 2


def test_only_the_lease_holder_records_and_an_expired_lease_is_claimed_again(factory) -> None:  # type: ignore[no-untyped-def]
    _queue(factory)
    first = jobs.claim(factory, "w1")
    assert first is not None
    _expire(factory, first.id)  # w1 died: it stopped renewing
    second = jobs.claim(factory, "w2")
    assert second is not None and second.id == first.id and second.attempt == 2
    assert not jobs.renew(factory, first)  # w1 comes back: the job is not its any more
    assert jobs.finish(factory, first, _record(first)) is None  # and it records nothing
    row = jobs.finish(factory, second, _record(second))
    assert row is not None
    with factory() as session:
        versions = session.scalars(select(ModelVersion)).all()
        job = session.get(TrainingJob, first.id)
        assert [v.version for v in versions] == [f"v-{first.id}-2"]
        assert job is not None and job.status == "done" and job.version_id == row.id


def test_a_failing_job_is_retried_then_failed_with_its_error(factory) -> None:  # type: ignore[no-untyped-def]
    _queue(factory)
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        job = jobs.claim(factory, "w1", only=1)
        assert job is not None and job.attempt == attempt
        jobs.fail(factory, job, f"ValueError: attempt {attempt}")
    assert jobs.claim(factory, "w1", only=1) is None
    with factory() as session:
        job_row = session.get(TrainingJob, 1)
        assert job_row is not None and job_row.status == "failed"
        assert job_row.error == f"ValueError: attempt {jobs.MAX_ATTEMPTS}"
        assert jobs.progress(session)["failed"] == 1


def test_a_job_whose_runners_all_died_is_failed_not_claimed_forever(factory) -> None:  # type: ignore[no-untyped-def]
    _queue(factory)
    for _ in range(jobs.MAX_ATTEMPTS):
        job = jobs.claim(factory, "w1", only=1)
        assert job is not None
        _expire(factory, job.id)
    assert jobs.claim(factory, "w1", only=1) is None
    with factory() as session:
        job_row = session.get(TrainingJob, 1)
        assert job_row is not None and job_row.status == "failed" and job_row.error


def test_release_own_queues_a_restarted_runners_jobs_at_once(factory) -> None:  # type: ignore[no-untyped-def]
    _queue(factory)
    assert jobs.claim(factory, "serve") and jobs.claim(factory, "other")
    assert jobs.release_own(factory, "serve") == 1
    with factory() as session:
        state = jobs.progress(session)
    assert (state["queued"], state["running"]) == (2, 1)


def test_pending_job_names_the_version_that_would_answer(factory) -> None:  # type: ignore[no-untyped-def]
    _queue(factory)
    newest = jobs.claim(factory, "w1")
    assert newest is not None and jobs.finish(factory, newest, _record(newest))
    with factory() as session:
        # A date the newest version answers: nothing pending.
        assert (
            jobs.pending_job(
                session,
                symbol="DJIA",
                target="next_day",
                after=newest.cut,
                until=dt.date(2016, 6, 1),
            )
            is None
        )
        # A date before it: the version up to 2016-02-01 should answer, and is queued.
        job = jobs.pending_job(
            session, symbol="DJIA", target="next_day", after=None, until=dt.date(2016, 2, 20)
        )
        assert job is not None and job.cut == dt.date(2016, 2, 1) and job.status == "queued"
        assert jobs.job_public(job)["cut"] == "2016-02-01"
        assert jobs.retry_after(session, job) >= 5
        # Another target has no job.
        assert (
            jobs.pending_job(
                session, symbol="DJIA", target="same_day", after=None, until=dt.date(2016, 6, 1)
            )
            is None
        )


def test_queueing_and_finishing_a_job_change_the_answers_data_stamp(factory) -> None:  # type: ignore[no-untyped-def]
    """A cached answer is served only under the stamp it was computed with: a job queued (the
    answer may now be 503) or a version recorded (another version may answer) changes it."""
    from app.services.answers import data_stamp

    with factory() as session:
        empty = data_stamp(session, "DJIA")
    _queue(factory)
    with factory() as session:
        queued = data_stamp(session, "DJIA")
    job = jobs.claim(factory, "w1")
    assert job is not None
    with factory() as session:
        assert data_stamp(session, "DJIA") == queued  # claimed: still to be trained
    assert jobs.finish(factory, job, _record(job)) is not None
    with factory() as session:
        finished = data_stamp(session, "DJIA")
    assert len({empty, queued, finished}) == 3
