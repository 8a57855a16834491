"""Apply the Alembic revisions programmatically (used by `kdtcn db upgrade` and the tests).

Processes that start together on one new database (`kdtcn worker`s on several machines,
`docker compose up` without its init step, a worker beside a first `kdtcn serve`) each make
sure of the schema: one makes it while the others wait (`schema_lock`), then find it made.
Unlocked, on SQLite one of three such processes failed on a table another had just created
and another found the schema half made."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.settings import PROJECT_ROOT

# pg_advisory_lock's key while the schema is checked or changed (any fixed 64-bit number:
# "kdtcn" in ASCII).
SCHEMA_LOCK_KEY = 0x6B6474636E

__all__ = [
    "SchemaBehind",
    "alembic_config",
    "current_revision",
    "ensure_schema",
    "schema_lock",
    "upgrade",
]


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for the project's migrations/ folder and `database_url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def _sqlite_file(database_url: str) -> Path | None:
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        return Path(database_url.removeprefix("sqlite:///"))
    return None


@contextmanager
def schema_lock(database_url: str) -> Iterator[None]:
    """Held while this process checks or changes the database's schema; another process
    waits for it. PostgreSQL: a session advisory lock (SCHEMA_LOCK_KEY) on a connection of
    its own. A SQLite file: an exclusive flock of `<file>.schema-lock` beside it (its folder
    is created first: a clean clone has no var/). Other databases: none."""
    from sqlalchemy import text

    from app.db import make_engine

    path = _sqlite_file(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".schema-lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock
        return
    if not database_url.startswith("postgresql"):
        yield
        return
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade to REVISION, holding `schema_lock` (a SQLite file's folder is created first:
    a clean clone has no var/)."""
    with schema_lock(database_url):
        command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The database's current Alembic revision, or None when none has been applied."""
    from alembic.runtime.migration import MigrationContext

    from app.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


class SchemaBehind(RuntimeError):
    """The database's schema is not this code's: an older revision, or one it does not know."""


def ensure_schema(database_url: str) -> str | None:
    """Make sure the database has this code's schema before a command uses it: a database
    without any revision (a new SQLite file, an empty PostgreSQL database) is given the
    schema, as a first `kdtcn serve` gives it, and the revision made is returned (None when
    it was there already); one at an older revision raises SchemaBehind naming `kdtcn db
    upgrade` (a migration of data in use is the user's call), and so does one at a revision
    this code does not know (made by newer code)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    head = scripts.get_current_head()
    if current_revision(database_url) == head:
        return None
    # Read again holding the lock: another process may be making it (on SQLite each
    # revision is committed on its own, so a schema half made reads as an older revision).
    with schema_lock(database_url):
        current = current_revision(database_url)
        if current is None:
            command.upgrade(alembic_config(database_url), "head")
            return head
    if current == head:
        return None
    if current not in {r.revision for r in scripts.walk_revisions()}:
        raise SchemaBehind(
            f"the database is at schema revision {current}, which this code does not know "
            f"(its newest is {head}): newer code made it; run that code, or a database of "
            "its own for this one"
        )
    raise SchemaBehind(
        f"the database is at schema revision {current} and this code needs {head}: "
        "run `kdtcn db upgrade` (or start `kdtcn serve`, which upgrades it) first"
    )
