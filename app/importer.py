"""Bulk import of the Kaggle "Daily News for Stock Market Prediction" layout.

Files (plain or .gz): Combined_News_DJIA.csv (Date, Label, Top1..Top25),
RedditNews.csv (Date, News; by date descending, rank order within a date),
DJIA_table.csv (Date, Open, High, Low, Close, Volume, Adj Close).
Both headline files come from /r/worldnews and share one source, so a headline present in
both is stored once (same source, date and content hash).

`import_history` stores bars of a second symbol from the long Yahoo histories in
`data/prices/` (models.history) through the same storage path, for the dates asked: the
first start imports GSPC over the DJIA table's trading days, the period of the news.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.schemas import HeadlineIn, PriceBarIn
from app.services.headlines import insert_headlines
from app.services.prices import store_prices

__all__ = [
    "ImportReport",
    "import_djia_reddit",
    "import_history",
    "insert_in_chunks",
    "SOURCE",
    "SYMBOL",
]

log = logging.getLogger(__name__)

SOURCE = "reddit-worldnews"
SYMBOL = "DJIA"
CHUNK = 2000


@dataclass
class ImportReport:
    """Counts of one import: price bars and headlines newly stored or already present,
    headlines read, and a line per rejected row naming it and why."""

    prices_inserted: int = 0
    prices_present: int = 0
    headlines_read: int = 0
    headlines_inserted: int = 0
    headlines_present: int = 0
    rejected: list[str] = field(default_factory=list)


def _open(directory: Path, name: str) -> io.TextIOBase:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            if candidate.suffix == ".gz":
                return io.TextIOWrapper(gzip.open(candidate), encoding="utf-8", newline="")
            return candidate.open(encoding="utf-8", newline="")
    raise FileNotFoundError(f"{name}(.gz) not found in {directory}")


def _price_rows(directory: Path) -> Iterator[dict[str, str]]:
    with _open(directory, "DJIA_table.csv") as fh:
        yield from csv.DictReader(fh)


def _headline_rows(directory: Path) -> Iterator[tuple[str, int, str]]:
    """(date, rank, raw text) from both headline files, Combined first."""
    with _open(directory, "Combined_News_DJIA.csv") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for row in reader:
            for rank, raw in enumerate(row[2:], start=1):
                if header[rank + 1] and raw:
                    yield row[0], rank, raw
    with _open(directory, "RedditNews.csv") as fh:
        ranks: dict[str, int] = defaultdict(int)
        for record in csv.DictReader(fh):
            ranks[record["Date"]] += 1
            yield record["Date"], ranks[record["Date"]], record["News"]


def insert_in_chunks(
    factory: sessionmaker[Session],
    items: list[HeadlineIn],
    *,
    stage: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[int, int]:
    """Store `items` CHUNK at a time, one transaction each (an interrupted import keeps what
    it stored and a rerun adds the rest), reporting `stage` progress; (inserted, present)."""
    inserted = present = 0
    for start in range(0, len(items), CHUNK):
        with transaction(factory) as session:
            result, _ = insert_headlines(session=session, items=items[start : start + CHUNK])
        inserted += result.inserted
        present += result.already_present
        if progress:
            progress(stage, min(start + CHUNK, len(items)), len(items))
    return inserted, present


def import_djia_reddit(
    directory: Path,
    factory: sessionmaker[Session],
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Import prices then headlines, one transaction per chunk; running it again adds nothing.

    Events are not extracted here; `kdtcn kg extract` (or the serve bootstrap) processes
    every stored headline that is still pending, so an interrupted run resumes cleanly.
    """
    report = ImportReport()
    bars: list[PriceBarIn] = []
    for i, row in enumerate(_price_rows(directory)):
        try:
            bars.append(
                PriceBarIn.model_validate(
                    {
                        "date": row["Date"],
                        "open": row["Open"],
                        "high": row["High"],
                        "low": row["Low"],
                        "close": row["Close"],
                        "adj_close": row["Adj Close"],
                        "volume": int(row["Volume"]),
                    }
                )
            )
        except ValidationError as exc:
            report.rejected.append(f"DJIA_table.csv row {i + 2}: {exc.errors()[0]['msg']}")
    with transaction(factory) as session:
        result = store_prices(session=session, symbol=SYMBOL, items=bars)
    report.prices_inserted, report.prices_present = result.inserted, result.already_present
    if progress:
        progress("prices", len(bars), len(bars))

    items: list[HeadlineIn] = []
    for date, rank, raw in _headline_rows(directory):
        report.headlines_read += 1
        try:
            fields = {"date": date, "rank": rank, "text": raw, "source": SOURCE}
            items.append(HeadlineIn.model_validate(fields))
        except ValidationError as exc:
            report.rejected.append(f"headline {date} #{rank}: {exc.errors()[0]['msg']}")
    report.headlines_inserted, report.headlines_present = insert_in_chunks(
        factory, items, stage="headlines", progress=progress
    )
    for line in report.rejected[:20]:
        log.warning("skipped %s", line)
    return report


def import_history(
    symbol: str,
    data_dir: Path,
    factory: sessionmaker[Session],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ImportReport:
    """Store the bars of `symbol`'s bundled history (models.history.load_history, which
    drops and counts bad rows) from `start` to `end` inclusive as `symbol`, in one
    transaction; running it again adds nothing."""
    from models.history import load_history

    frame = load_history(symbol, data_dir, start=start, end=end)
    report = ImportReport()
    report.rejected = [
        f"{symbol}: {n} rows, {why}" for why, n in frame.attrs["dropped"].items() if n
    ]
    bars = [
        PriceBarIn(
            date=day.date().isoformat(),
            open=row.open,
            high=row.high,
            low=row.low,
            close=row.close,
            adj_close=row.adj_close,
            volume=int(row.volume),
        )
        for day, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]
    with transaction(factory) as session:
        result = store_prices(session=session, symbol=symbol, items=bars)
    report.prices_inserted, report.prices_present = result.inserted, result.already_present
    for line in report.rejected:
        log.warning("skipped %s", line)
    return report
