"""Bulk import of ACL18 StockNet (Xu & Cohen 2018) in the repacked layout of
`data/stocknet/` (data README, section 6):

- `stocks.tsv`: `symbol, sector, company`, the universe `stocknet`;
- `prices.csv.gz`: `symbol, date, open, high, low, close, adj_close, volume`;
- `tweets.jsonl` (plain, .gz or .xz): one tweet a line: `symbol` (the stock whose upstream
  folder held it), `file_date` (upstream's file, cut at about 18:00 New York time), `id`,
  `created_at` (UTC), `text`, `cashtags`, ...

Each tweet becomes one item of news of source `stocknet-twitter`: its text as posted, its id,
`published_at` = `created_at`, `date` = `file_date` (the paper's protocol reads tweets by
these files; the tradable one by `published_at`), and as symbols its cashtags and the folder's
stock (cashtags that are not symbols, such as the futures tag `$ES_F`, are left out).
Upstream repeats some (symbol, id) pairs and files one tweet under every stock it names: the
import stores each id once, with the union of its symbols, and makes the control characters
of a few mis-decoded texts spaces. Running it again adds nothing.
Events are extracted afterwards by the usual pipeline (`app.bootstrap.extract_all`).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import logging
import lzma
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.importer import insert_in_chunks
from app.schemas import HeadlineIn, PriceBarIn
from app.services.prices import store_prices
from app.services.upsert import insert_ignore
from app.tables import UniverseStock

__all__ = ["SOURCE", "UNIVERSE", "StocknetReport", "import_stocknet", "read_stocks"]

log = logging.getLogger(__name__)

SOURCE = "stocknet-twitter"
UNIVERSE = "stocknet"
_TICKER = re.compile(r"^[A-Z0-9.^\-]{1,15}$")
# C0 controls other than whitespace, DEL and C1 controls: in upstream's texts they are
# mis-decoded bytes (about 30 tweets), which the API would reject; the import makes them spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")

Progress = Callable[[str, int, int], None]


@dataclass
class StocknetReport:
    """Counts of one import: stocks of the universe, price bars and tweets newly stored or
    already present, tweet lines read and distinct tweets among them, and a line per
    rejected row naming it and why."""

    stocks: int = 0
    prices_inserted: int = 0
    prices_present: int = 0
    tweets_read: int = 0
    tweets_distinct: int = 0
    tweets_inserted: int = 0
    tweets_present: int = 0
    rejected: list[str] = field(default_factory=list)


@dataclass
class _Tweet:
    """One tweet id's fields as first read, and every symbol it was filed under or names."""

    fields: dict[str, Any]
    symbols: set[str]


_OPENERS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".xz": lzma.open}


def _lines(path: Path) -> Iterator[str]:
    opener = _OPENERS.get(path.suffix, open)
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        yield from fh


def _file(directory: Path, name: str) -> Path:
    """`name` in `directory`, plain, gzip- or xz-compressed."""
    for candidate in (directory / name, directory / f"{name}.gz", directory / f"{name}.xz"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name}(.gz, .xz) not found in {directory}")


def read_stocks(directory: Path) -> list[dict[str, str]]:
    """The rows of `stocks.tsv`: symbol, sector and company."""
    rows = csv.DictReader(
        io.StringIO("".join(_lines(_file(directory, "stocks.tsv")))), delimiter="\t"
    )
    return [{k: (v or "").strip() for k, v in row.items()} for row in rows]


def _in_span(day: str, start: dt.date | None, end: dt.date | None) -> bool:
    when = dt.date.fromisoformat(day[:10])
    return (start is None or when >= start) and (end is None or when <= end)


def _store_universe(factory: sessionmaker[Session], stocks: list[dict[str, str]]) -> None:
    rows = [
        {
            "universe": UNIVERSE,
            "symbol": s["symbol"],
            "company": s["company"],
            "sector": s["sector"],
        }
        for s in stocks
    ]
    with transaction(factory) as session:
        insert_ignore(session, cast(Table, UniverseStock.__table__), rows, [UniverseStock.symbol])


def _import_prices(
    directory: Path,
    factory: sessionmaker[Session],
    keep: set[str],
    span: tuple[dt.date | None, dt.date | None],
    report: StocknetReport,
    progress: Progress | None,
) -> None:
    bars: dict[str, list[PriceBarIn]] = defaultdict(list)
    reader = csv.DictReader(_lines(_file(directory, "prices.csv")))
    for i, row in enumerate(reader):
        if row["symbol"] not in keep or not _in_span(row["date"], *span):
            continue
        try:
            fields = {k: row[k] for k in ("date", "open", "high", "low", "close", "adj_close")}
            bars[row["symbol"]].append(
                PriceBarIn.model_validate({**fields, "volume": int(float(row["volume"]))})
            )
        except (ValidationError, ValueError) as exc:
            why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            report.rejected.append(f"prices.csv row {i + 2} ({row['symbol']}): {why}")
    for done, symbol in enumerate(sorted(bars), start=1):
        with transaction(factory) as session:
            result = store_prices(session=session, symbol=symbol, items=bars[symbol])
        report.prices_inserted += result.inserted
        report.prices_present += result.already_present
        if progress:
            progress("prices", done, len(bars))


def _read_tweets(
    lines: Iterable[str],
    keep: set[str],
    span: tuple[dt.date | None, dt.date | None],
    report: StocknetReport,
) -> dict[str, _Tweet]:
    """The distinct tweets (by id) of the kept stocks and files, in the order first read."""
    tweets: dict[str, _Tweet] = {}
    for line in lines:
        record = json.loads(line)
        if record["symbol"] not in keep or not _in_span(record["file_date"], *span):
            continue
        report.tweets_read += 1
        names = {str(tag).upper() for tag in record.get("cashtags") or []}
        names = {name for name in names if _TICKER.match(name)} | {record["symbol"]}
        seen = tweets.get(record["id"])
        if seen is not None:
            seen.symbols |= names
            continue
        tweets[record["id"]] = _Tweet(
            fields={
                "date": record["file_date"],
                "published_at": record["created_at"],
                "text": _CONTROL.sub(" ", record["text"]),
                "source": SOURCE,
                "id": str(record["id"]),
            },
            symbols=names,
        )
    return tweets


def import_stocknet(
    directory: Path,
    factory: sessionmaker[Session],
    *,
    symbols: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress: Progress | None = None,
) -> StocknetReport:
    """Import the universe's stocks, their prices and their tweets (only `symbols`, and only
    prices and tweet files dated `start` to `end` inclusive, when given), one transaction per
    stock's prices and per chunk of tweets; running it again adds nothing.

    Events are not extracted here (see the module docstring)."""
    report = StocknetReport()
    stocks = read_stocks(directory)
    keep = {s["symbol"] for s in stocks}
    if symbols is not None:
        asked = set(symbols)
        unknown = sorted(asked - keep)
        if unknown:
            raise ValueError(f"not StockNet stocks: {', '.join(unknown)}")
        keep = asked
    stocks = [s for s in stocks if s["symbol"] in keep]
    _store_universe(factory, stocks)
    report.stocks = len(stocks)
    span = (start, end)
    _import_prices(directory, factory, keep, span, report, progress)

    tweets = _read_tweets(_lines(_file(directory, "tweets.jsonl")), keep, span, report)
    report.tweets_distinct = len(tweets)
    items: list[HeadlineIn] = []
    for tweet_id, tweet in tweets.items():
        try:
            items.append(
                HeadlineIn.model_validate({**tweet.fields, "symbols": sorted(tweet.symbols)})
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            report.rejected.append(f"tweet {tweet_id}: {where}: {first['msg']}")
    report.tweets_inserted, report.tweets_present = insert_in_chunks(
        factory, items, stage="tweets", progress=progress
    )
    for line in report.rejected[:20]:
        log.warning("skipped %s", line)
    return report
