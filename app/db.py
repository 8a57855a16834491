"""Engine and session factory. Tables come from Alembic revisions (see migrations/)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "DatabaseBusy",
    "is_retryable",
    "make_engine",
    "make_sessionmaker",
    "run_transaction",
    "transaction",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL: deadlock_detected, serialization_failure.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


class DatabaseBusy(Exception):
    """A transaction kept failing on lock conflicts; the client should retry later (503)."""


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys on and a busy timeout for concurrent writers."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,  # errors and logs never carry headline texts
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory on `engine` whose objects stay readable after commit (no expiry)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with factory() as session, session.begin():
        yield session


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL) or a lock timeout (SQLite)."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def run_transaction(
    factory: sessionmaker[Session],
    work: Callable[[Session], T],
    *,
    attempts: int = 5,
    base_delay: float = 0.05,
) -> T:
    """Run `work` in one transaction; retry it from the start on a lock conflict.

    A conflict that persists after `attempts` tries raises `DatabaseBusy` (answered 503 with
    Retry-After); any other error propagates unchanged. Each try rolls back completely, so
    retrying never writes twice.
    """
    for attempt in range(1, attempts + 1):
        try:
            with factory() as session, session.begin():
                return work(session)
        except DBAPIError as exc:
            if not is_retryable(exc):
                raise
            if attempt == attempts:
                raise DatabaseBusy(f"lock conflict persisted over {attempts} attempts") from exc
            delay = base_delay * 2 ** (attempt - 1) * (1 + random.random())
            log.info(
                "lock conflict (%s), retry %d in %.2f s", type(exc.orig).__name__, attempt, delay
            )
            time.sleep(delay)
    raise AssertionError("unreachable")
