"""What every `kdtcn` command shares: the console, progress bars, and the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings, get_settings

__all__ = ["Opened", "console", "opened", "progress_bar", "stage_progress"]

console = Console(stderr=True)


def progress_bar() -> Progress:
    """A progress display on stderr: description, bar, done/total, time elapsed."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def stage_progress(bar: Progress) -> Callable[[str, int, int], None]:
    """A progress callback `(stage, done, total)` that shows each stage as a task of `bar`."""
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    return update


class Opened(NamedTuple):
    """The settings and the database a command works on."""

    settings: Settings
    factory: sessionmaker[Session]
    engine: Engine


@contextmanager
def opened(settings: Settings | None = None) -> Iterator[Opened]:
    """The settings (from the environment by default) and their database, its folders made
    and its schema there (a new database is given it; one at an older revision is an error
    naming `kdtcn db upgrade`); the engine is disposed on the way out, whatever happens."""
    import logging

    import typer

    from app.bootstrap import open_database

    settings = settings or get_settings()
    settings.ensure_dirs()
    alembic_log = logging.getLogger("alembic")  # its INFO lines are not the command's output
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        from app.migrate import SchemaBehind, ensure_schema

        made = ensure_schema(settings.database_url)
    except SchemaBehind as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        alembic_log.setLevel(level)
    if made:
        console.print(f"a new database: its schema created (revision {made})")
    factory, engine = open_database(settings)
    try:
        yield Opened(settings, factory, engine)
    finally:
        engine.dispose()
