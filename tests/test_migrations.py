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
