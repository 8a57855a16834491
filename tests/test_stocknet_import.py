"""`kdtcn import stocknet` on a slice of the bundled ACL18 StockNet data (three stocks, one
month), run as a user runs it, on SQLite and PostgreSQL: what it stores is what an
independent reading of the files gives, a second run adds nothing, and the tweets' events are
extracted and linked by the usual pipeline."""

from __future__ import annotations

import datetime as dt
import json
import lzma
import re

import pytest
from sqlalchemy import func, select

from app.db import make_engine, make_sessionmaker
from app.tables import Event, Headline, HeadlineSymbol, Price, UniverseStock
from tests.conftest import DATA_DIR
from tests.samples import cli_env, run_kdtcn

pytestmark = pytest.mark.slow

STOCKS = ("AAPL", "AMZN", "GOOG")
START, END = "2015-10-01", "2015-10-31"


def _kdtcn(database_url: str, tmp_path, *args: str) -> str:  # type: ignore[no-untyped-def]
    return run_kdtcn(cli_env(database_url, tmp_path / "artifacts"), "import", "stocknet", *args)


def _expected() -> tuple[dict[str, dict], dict[str, set[str]], int]:
    """The slice read straight from the file: each tweet id's first record, its symbols
    (folder stock and cashtags), and the number of lines. In this data the only cashtags
    outside the symbol pattern are futures tags with an underscore."""
    first: dict[str, dict] = {}
    symbols: dict[str, set[str]] = {}
    lines = 0
    with lzma.open(DATA_DIR / "stocknet" / "tweets.jsonl.xz", "rt", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["symbol"] in STOCKS and START <= record["file_date"] <= END:
                lines += 1
                first.setdefault(record["id"], record)
                # Cashtags that are not symbols (futures tags such as ES_F) are not kept.
                names = {c.upper() for c in record["cashtags"] if "_" not in c}
                names.add(record["symbol"])
                symbols.setdefault(record["id"], set()).update(names)
    return first, symbols, lines


def test_import_stores_the_slice_once_with_its_events(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first, symbols, lines = _expected()
    assert lines > len(first) > 1000  # upstream files one tweet under several stocks
    args = ("--symbols", ",".join(STOCKS), "--start", START, "--end", END)
    out = _kdtcn(database_url, tmp_path, *args)
    assert f"{lines} read, {len(first)} distinct ids, {len(first)} inserted" in " ".join(
        out.split()
    ), out
    again = _kdtcn(database_url, tmp_path, *args, "--no-extract")
    assert f"0 inserted, {len(first)} already present" in " ".join(again.split()), again

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            universe = session.scalars(select(UniverseStock.symbol)).all()
            assert sorted(universe) == sorted(STOCKS)
            n_prices = session.scalar(select(func.count()).select_from(Price))
            assert n_prices == 3 * 22  # October 2015 had 22 sessions
            rows = session.scalars(select(Headline)).all()
            assert len(rows) == len(first)
            stored = {h.external_id: h for h in rows}
            for tweet_id, record in list(first.items())[:200]:
                h = stored[tweet_id]
                assert h.date == dt.date.fromisoformat(record["file_date"])
                when = dt.datetime.fromisoformat(record["created_at"].replace("Z", "+00:00"))
                assert h.published_at == when
                assert {s.symbol for s in h.symbols} == symbols[tweet_id]
            n_links = session.scalar(select(func.count()).select_from(HeadlineSymbol))
            assert n_links == sum(len(s) for s in symbols.values())
            pending = session.scalar(
                select(func.count()).where(Headline.extracted_version.is_(None))
            )
            assert pending == 0
            events = session.execute(
                select(Event.subject, Event.subject_start, Event.subject_end, Headline.text).join(
                    Headline
                )
            ).all()
            with_events = session.scalar(select(func.count(func.distinct(Event.headline_id))))
    finally:
        engine.dispose()
    assert with_events > len(first) / 3, (with_events, len(first))
    for subject, start, end, text in events:  # the stored text's spans, not the parser's
        assert text[start:end] == subject
    tweety = re.compile(r"^(?:RT\s|[@#][A-Za-z]|\$[A-Za-z]|https?:)")
    assert not [subject for subject, *_ in events if tweety.match(subject)]
