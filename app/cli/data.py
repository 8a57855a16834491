"""`kdtcn db` and `kdtcn import`: the schema and bulk imports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import console, opened, progress_bar, stage_progress
from app.settings import get_settings

__all__ = ["db_cli", "import_cli"]

db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
import_cli = typer.Typer(help="Bulk imports.", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic revisions up to REVISION (default: head)."""
    from app.migrate import current_revision, upgrade

    settings = get_settings()
    settings.ensure_dirs()
    upgrade(settings.database_url, revision)
    console.print(f"database at revision {current_revision(settings.database_url)}")


@import_cli.command("djia-reddit")
def import_djia_reddit_cmd(
    directory: Annotated[Path, typer.Argument(help="Folder with the three Kaggle CSV files")],
) -> None:
    """Import DJIA_table.csv, Combined_News_DJIA.csv and RedditNews.csv (plain or .gz)."""
    from app.importer import import_djia_reddit

    with opened() as (_, factory, _), progress_bar() as bar:
        report = import_djia_reddit(directory, factory, progress=stage_progress(bar))
    console.print(
        f"prices: {report.prices_inserted} inserted, {report.prices_present} already present\n"
        f"headlines: {report.headlines_read} read, {report.headlines_inserted} inserted, "
        f"{report.headlines_present} already present (duplicates across files or runs), "
        f"{len(report.rejected)} rejected"
    )


@import_cli.command("stocknet")
def import_stocknet_cmd(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Folder with stocks.tsv, prices.csv(.gz), tweets.jsonl(.gz) "
            "(default: the bundled data/stocknet)"
        ),
    ] = None,
    symbols: Annotated[
        str | None, typer.Option(help="Only these stocks, comma-separated (default: all)")
    ] = None,
    start: Annotated[str | None, typer.Option(help="First day of prices and tweet files")] = None,
    end: Annotated[str | None, typer.Option(help="Last day of prices and tweet files")] = None,
    extract: Annotated[
        bool, typer.Option(help="Extract and link the new tweets' events afterwards")
    ] = True,
) -> None:
    """Import ACL18 StockNet: the universe `stocknet`, its daily prices and its tweets
    (cashtags become symbols; each tweet id once), idempotent; then extract and link the
    events of every pending item, one process per core."""
    import datetime as dt
    import os

    from app.stocknet import import_stocknet

    asked = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    with opened() as (settings, factory, _), progress_bar() as bar:
        try:
            report = import_stocknet(
                directory or settings.data_dir / "stocknet",
                factory,
                symbols=asked,
                start=dt.date.fromisoformat(start) if start else None,
                end=dt.date.fromisoformat(end) if end else None,
                progress=stage_progress(bar),
            )
        except (FileNotFoundError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from None
        extracted = 0
        if extract:
            from app.bootstrap import extract_all
            from kg.pipeline import EventPipeline

            pipeline = EventPipeline.load(data_dir=settings.data_dir)
            extracted = extract_all(
                factory, pipeline, bar, settings=settings, processes=os.cpu_count() or 1
            )
    console.print(
        f"stocknet: {report.stocks} stocks; prices: {report.prices_inserted} inserted, "
        f"{report.prices_present} already present\n"
        f"tweets: {report.tweets_read} read, {report.tweets_distinct} distinct ids, "
        f"{report.tweets_inserted} inserted, {report.tweets_present} already present, "
        f"{len(report.rejected)} rejected\n"
        f"events extracted for {extracted} items"
        + ("" if extract else " (--no-extract: `kdtcn kg extract` or the workers do it)")
    )


@import_cli.command("history")
def import_history_cmd(
    symbol: Annotated[str, typer.Argument(help="DJIA or GSPC (models.history)")],
    start: Annotated[str | None, typer.Option(help="First day (ISO date)")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (ISO date)")] = None,
) -> None:
    """Import a symbol's bars from the bundled Yahoo history in data/prices/, idempotent."""
    import datetime as dt

    from app.importer import import_history

    with opened() as (settings, factory, _):
        report = import_history(
            symbol,
            settings.data_dir,
            factory,
            start=dt.date.fromisoformat(start) if start else None,
            end=dt.date.fromisoformat(end) if end else None,
        )
    console.print(
        f"{symbol} prices: {report.prices_inserted} inserted, {report.prices_present} already "
        f"present; skipped: {'; '.join(report.rejected) or 'none'}"
    )
