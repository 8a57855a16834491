"""Alembic revisions create the schema on both backends and can be rolled back."""

from __future__ import annotations

from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import current_revision, upgrade
from app.tables import Base


def test_upgrade_creates_every_table_of_the_models(database_url: str) -> None:
    assert current_revision(database_url) == "0006"
    engine = make_engine(database_url)
    try:
        inspector = inspect(engine)
        assert set(Base.metadata.tables) <= set(inspector.get_table_names())
        for name, table in Base.metadata.tables.items():
            columns = {c["name"] for c in inspector.get_columns(name)}
            assert columns == {c.name for c in table.columns}, name
    finally:
        engine.dispose()


def test_downgrade_then_upgrade_round_trips(database_url: str) -> None:
    from alembic import command

    from app.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "base")
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == "0006"


def _import_history(env: dict[str, str]):  # type: ignore[no-untyped-def]
    """`kdtcn import history DJIA` in a fresh process, whatever its exit code."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "app.cli", "import", "history", "DJIA", "--start", "2016-07-01"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_command_on_a_new_database_creates_the_schema_and_refuses_an_old_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # As a newcomer runs it: `kdtcn import history` on a database file that does not exist yet
    # (before any `kdtcn serve`) stores the bars instead of failing on a missing table.
    from sqlalchemy import text

    from tests.samples import cli_env, run_kdtcn

    url = f"sqlite:///{tmp_path / 'new' / 'kdtcn.db'}"
    env = cli_env(url, tmp_path / "artifacts")
    said = run_kdtcn(
        env, "import", "history", "DJIA", "--start", "2016-06-01", "--end", "2016-06-30"
    )
    assert "schema created (revision 0006)" in said and "INFO alembic" not in said
    assert current_revision(url) == "0006"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM prices WHERE symbol = 'DJIA'")) == 22
    finally:
        engine.dispose()
    # A database at an older revision is not migrated behind the user's back: the command
    # stops, names `kdtcn db upgrade`, and leaves the revision where it was.
    from alembic import command

    from app.migrate import alembic_config

    command.downgrade(alembic_config(url), "0005")
    done = _import_history(env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "kdtcn db upgrade" in done.stderr and "0005" in done.stderr
    assert current_revision(url) == "0005"
    # A revision this code does not know (newer code made it) is named as such, not as one
    # to upgrade from.
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    done = _import_history(env)
    assert done.returncode == 2 and "does not know" in done.stderr, done.stderr


_AT_ONCE = """
import sys, time
from app.migrate import ensure_schema
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
print(ensure_schema(sys.argv[1]))
"""


def test_commands_started_at_once_on_an_empty_database_make_the_schema_once(
    empty_database_url: str,
) -> None:
    """Workers started together on a new database (`docker compose up` without its init
    step, or several machines): each makes sure of the schema at the same moment; one makes
    it, the others wait for it and find it made."""
    import subprocess
    import sys
    import time

    from app.settings import PROJECT_ROOT

    start = time.time() + 6.0  # after the imports of every process
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _AT_ONCE, empty_database_url, str(start)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    said = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], [err[-600:] for _, err in said]
    made = sorted(out.strip() for out, _ in said)
    assert made == ["0006", "None", "None"], made
    assert current_revision(empty_database_url) == "0006"
