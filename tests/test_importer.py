"""`kdtcn import djia-reddit` on the real bundled data: counts, idempotency, both backends."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.importer import import_djia_reddit
from app.tables import Headline, Price
from kg.text import clean_headline, content_hash
from tests.conftest import DATA_DIR

RAW = DATA_DIR / "djia_reddit"


def _distinct_headlines() -> int:
    """What the importer must store: one row per (date, content hash) of both files."""
    seen: set[tuple[str, str]] = set()
    with gzip.open(RAW / "Combined_News_DJIA.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for k in range(1, 26):
                text = clean_headline(row.get(f"Top{k}") or "")
                if text:
                    seen.add((row["Date"], content_hash(text)))
    with gzip.open(RAW / "RedditNews.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = clean_headline(row["News"])
            if text:
                seen.add((row["Date"], content_hash(text)))
    return len(seen)


@pytest.mark.slow
def test_cli_imports_whole_dataset_once(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'import.sqlite3'}"}
    kdtcn = [sys.executable, "-m", "app.cli"]
    subprocess.run([*kdtcn, "db", "upgrade"], env=env, check=True, capture_output=True)
    first = subprocess.run(
        [*kdtcn, "import", "djia-reddit", str(RAW)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "prices: 1989 inserted" in first.stderr
    second = subprocess.run(
        [*kdtcn, "import", "djia-reddit", str(RAW)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "prices: 0 inserted, 1989 already present" in second.stderr
    assert " 0 inserted" in second.stderr.split("headlines:")[1]

    from app.db import make_engine

    engine = make_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Price)).scalar_one() == 1989
        stored = conn.execute(select(func.count()).select_from(Headline)).scalar_one()
        first_day = conn.execute(
            select(Headline.rank, Headline.text)
            .where(Headline.date == "2008-08-08")
            .order_by(Headline.rank)
            .limit(1)
        ).one()
    engine.dispose()
    assert stored == _distinct_headlines()
    assert first_day.rank == 1 and not first_day.text.startswith("b'")


def _slice(tmp_path: Path, n_days: int) -> Path:
    """The first n_days trading days of the three files, as plain CSVs."""
    out = tmp_path / "slice"
    out.mkdir()
    for name in ("Combined_News_DJIA.csv", "DJIA_table.csv", "RedditNews.csv"):
        with gzip.open(RAW / f"{name}.gz", "rt", encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        body = rows[1:]
        if name == "Combined_News_DJIA.csv":
            body = body[:n_days]
        else:
            body = [r for r in body if r[0] <= "2008-08-20"]
        with (out / name).open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([rows[0], *body])
    return out


def test_import_slice_is_idempotent_on_each_backend(session_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    directory = _slice(tmp_path, n_days=9)
    first = import_djia_reddit(directory, session_factory)
    assert first.prices_inserted == 9 and first.headlines_inserted > 9 * 25 * 0.9
    second = import_djia_reddit(directory, session_factory)
    assert second.prices_inserted == 0 and second.headlines_inserted == 0
    assert second.headlines_present == second.headlines_read - len(second.rejected)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Headline)) == (
            first.headlines_inserted
        )


def test_import_history_stores_the_asked_days_once_on_each_backend(session_factory) -> None:  # type: ignore[no-untyped-def]
    """GSPC bars of a span from the bundled Yahoo history, through the same storage path."""
    import datetime as dt

    from app.importer import import_history
    from app.services.prices import load_prices
    from models.history import load_history

    span = {"start": dt.date(2016, 6, 20), "end": dt.date(2016, 6, 24)}
    first = import_history("GSPC", DATA_DIR, session_factory, **span)
    assert (first.prices_inserted, first.prices_present, first.rejected) == (5, 0, [])
    again = import_history("GSPC", DATA_DIR, session_factory, **span)
    assert (again.prices_inserted, again.prices_present) == (0, 5)
    with session_factory() as session:
        stored = load_prices(session=session, symbol="GSPC")
        assert load_prices(session=session, symbol="DJIA").empty
    expected = load_history("GSPC", DATA_DIR, **span)
    assert list(stored.index) == list(expected.index)
    assert stored["close"].tolist() == pytest.approx(expected["close"].tolist(), rel=1e-12)
    assert stored.loc["2016-06-24", "close"] == pytest.approx(2037.41, abs=0.01)


def test_the_second_symbol_names_the_embedding_of_djias_chain(session_factory) -> None:  # type: ignore[no-untyped-def]
    """First start: GSPC's chain uses the embedding of DJIA's newest chain (its first cut,
    the latest before WALK_FORWARD_START), and a symbol with no chain gets None (built)."""
    import datetime as dt

    from app.bootstrap import WALK_FORWARD_START, chain_embedding, has_walk_forward
    from app.db import transaction
    from app.services.model_versions import record_version

    assert chain_embedding(session_factory, "DJIA") is None
    rows = [  # (name, cut, embedding): an older manual version, two chains, a later cut
        ("KDTCN", dt.date(2014, 6, 30), "emb-manual"),
        ("KDTCN", dt.date(2014, 12, 31), "emb-old-chain"),
        ("KDTCN", dt.date(2014, 12, 31), "emb-new-chain"),
        ("KDTCN", dt.date(2015, 4, 2), "emb-new-chain-later-cut"),
        ("TCN", dt.date(2014, 12, 31), None),
    ]
    with transaction(session_factory) as session:
        for i, (name, cut, embedding) in enumerate(rows):
            record_version(
                session=session,
                name=name,
                symbol="DJIA",
                target="same_day",
                version=f"v{i}",
                artifact_path=f"/nonexistent/v{i}",
                embedding_version=embedding,
                train_start=None,
                train_end=cut,
                metrics={},
                config={},
            )
    assert chain_embedding(session_factory, "DJIA") == "emb-new-chain"
    assert chain_embedding(session_factory, "GSPC") is None
    with session_factory() as session:
        assert has_walk_forward(session, "DJIA", "same_day", WALK_FORWARD_START)
        assert not has_walk_forward(session, "GSPC", "same_day", WALK_FORWARD_START)
        assert not has_walk_forward(session, "DJIA", "big_move", WALK_FORWARD_START)
