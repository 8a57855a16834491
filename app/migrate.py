"""Apply the Alembic revisions programmatically (used by `kdtcn db upgrade` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.settings import PROJECT_ROOT

__all__ = ["SchemaBehind", "alembic_config", "current_revision", "ensure_schema", "upgrade"]


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for the project's migrations/ folder and `database_url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade to REVISION; a SQLite file's folder is created first (a clean clone has no var/)."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
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
    current = current_revision(database_url)
    if current == head:
        return None
    if current is None:
        upgrade(database_url)
        return head
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
