"""A stock the import did not create, posted over HTTP with timed news about it, trained and
served (issue 31): an answer made at D's close reads the item published one minute before
that close and not the one published one minute after; it says it read timestamps and is
tradable; the index beside it keeps reading world news only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.db import transaction
from app.services.embeddings import build_embeddings
from app.services.stocknet_eval import load_stocks, universe_symbols
from app.services.walk_forward import train_walk_forward
from app.tables import Price
from evaluation.stocknet import run_protocols
from evaluation.stocknet_samples import Splits
from models.calendar import session_close
from models.targets import get_target
from models.train import TrainConfig
from tests.samples import wait_until_processed
from tests.worlds import FIRST_CUT

pytestmark = pytest.mark.slow

SYMBOL = "ACME"
D = dt.date(2016, 6, 22)  # the answer for D is made at D's close and predicts the 23rd
BEFORE = "Acme raises its dividend by a third"
AFTER = "Acme recalls its delivery trucks"
ROUTINE = [
    "Acme opens a factory in Ohio",
    "Acme hires a new finance chief",
    "Acme wins a contract from the Army",
    "Analysts upgrade Acme shares",
    "Acme cuts prices of its tools",
]


def _bars(factory) -> list[dict]:  # type: ignore[no-untyped-def]
    """DJIA's bars of the world, to be posted as ACME's."""
    with factory() as session:
        rows = session.scalars(select(Price).where(Price.symbol == "DJIA").order_by(Price.date))
        return [
            {
                "date": r.date.isoformat(),
                "open": r.open,
                "high": r.high,
                "low": r.low,
                "close": r.close,
                "adj_close": r.adj_close,
                "volume": r.volume,
            }
            for r in rows
        ]


def _news(days: list[dt.date]) -> list[dict]:
    """Two items a trading day at 15:00 and 17:30 New York time, and the two probes around
    D's close."""
    items = []
    for i, day in enumerate(days):
        for k, hours in enumerate((1, -1.5)):
            when = session_close(day) - dt.timedelta(hours=hours)
            items.append(
                {
                    "published_at": when.isoformat(),
                    "symbols": [SYMBOL],
                    "source": "wire",
                    "id": f"{day.isoformat()}-{k}",
                    "text": ROUTINE[(2 * i + k) % len(ROUTINE)],
                }
            )
    minute = dt.timedelta(minutes=1)
    for tag, text, when in (("before", BEFORE, -minute), ("after", AFTER, minute)):
        at = session_close(D) + when
        items.append(
            {
                "published_at": at.isoformat(),
                "symbols": [SYMBOL],
                "source": "wire",
                "id": tag,
                "text": text,
            }
        )
    return items


def test_timed_news_of_a_posted_stock_is_cut_at_the_close(
    scratch, scratch_client, pipeline
) -> None:  # type: ignore[no-untyped-def]
    server, factory = scratch
    http = scratch_client
    index_before = http.get("/v1/predictions/DJIA", params={"date": D.isoformat()}).json()

    bars = _bars(factory)
    assert http.post("/v1/prices", json={"symbol": SYMBOL, "items": bars}).status_code == 200
    days = [dt.date.fromisoformat(b["date"]) for b in bars]
    posted = http.post("/v1/headlines", json={"items": _news(days)})
    assert posted.status_code == 200, posted.text
    wait_until_processed(http)

    artifacts = server.app.state.settings.artifacts_dir
    with transaction(factory) as session:
        embedding, emb = build_embeddings(
            session=session,
            kg_triples=pipeline.graph.triples(),
            artifacts=artifacts,
            until=FIRST_CUT,
            epochs=3,
            symbol=SYMBOL,
        )
        assert emb.meta["n_event_triples"] > 0  # ACME's own news, not the world's
        train_walk_forward(
            session=session,
            artifacts=artifacts,
            graph=pipeline.graph,
            symbol=SYMBOL,
            rules=(get_target("next_day"),),
            start=FIRST_CUT + dt.timedelta(days=1),
            every=42,
            embedding_version=embedding,
            config=TrainConfig(epochs=4, patience=2),
            n_seeds=1,
            say=lambda _line: None,
        )

    answer = http.get(f"/v1/predictions/{SYMBOL}", params={"date": D.isoformat()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["news_timing"] == "timestamps" and body["tradable"] is True, body
    assert body["in_sample"] is False and body["model"]["embedding_version"] == embedding

    def read(date: dt.date) -> dict[str, str]:
        expl = http.get(
            f"/v1/explanations/{SYMBOL}", params={"date": date.isoformat(), "detail": "full"}
        )
        assert expl.status_code == 200, expl.text
        return {h["text"]: h["day"] for h in expl.json()["headlines"]}

    at_d = read(D)
    assert at_d.get(BEFORE) == D.isoformat(), sorted(at_d)  # a minute before the close
    assert AFTER not in at_d  # a minute after it: not at D's close
    next_day = days[days.index(D) + 1]
    assert read(next_day).get(AFTER) == next_day.isoformat()

    # The index reads world news only: its answer for D is what it was.
    index = http.get("/v1/predictions/DJIA", params={"date": D.isoformat()}).json()
    assert index["news_timing"] == "dates only" and index["tradable"] is False
    assert (index["p"], index["coverage"]) == (index_before["p"], index_before["coverage"])

    # The posted stock evaluates as a universe of its own (every symbol with news of its own).
    with factory() as session:
        symbols = universe_symbols(session, None)
        assert symbols == [SYMBOL]
        stocks = load_stocks(session, symbols)
    splits = Splits(
        start=dt.date(2016, 1, 1),
        train_end=dt.date(2016, 4, 1),
        dev_end=dt.date(2016, 5, 1),
        test_end=dt.date(2016, 7, 1),
    )
    result = run_protocols(stocks, splits)
    tradable = result["tradable"]
    assert tradable["n"] == sum(dt.date(2016, 5, 1) <= d < dt.date(2016, 7, 1) for d in days)
    assert tradable["test_with_news"] == 1.0 and tradable["dated_only_items_read"] == 0
