"""The item vectors a served universe version reads (app.services.stocknet_eval.item_vectors)
with its cache: an item is embedded once per extractor version, a pending item is never kept,
and the cached answer is the uncached one."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
from sqlalchemy import func, select

from app.bootstrap import extract_all
from app.schemas import HeadlineIn
from app.services.headlines import store_headlines
from app.services.stocknet_eval import item_vectors
from app.tables import Event, Headline

TEXTS = (
    "NextEra Energy buys a solar farm in Texas",
    "PG&E raises its dividend by a third",
    "hello",
)


class CountingEmbedder:
    """A fake EventEmbedder of dimension 2 that counts the events it embeds."""

    dim = 2

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, event, links) -> np.ndarray:  # type: ignore[no-untyped-def]
        self.calls += 1
        return np.array([1.0, float(len(event.predicate.text))], np.float32)


def test_items_are_embedded_once_and_never_while_pending(session_factory, pipeline) -> None:  # type: ignore[no-untyped-def]
    day = dt.date(2015, 10, 21)
    store_headlines(
        factory=session_factory,
        items=[HeadlineIn(date=day, text=t, symbols=["NEE"], source="wire") for t in TEXTS],
    )
    with session_factory() as session:
        ids = list(session.scalars(select(Headline.id).order_by(Headline.id)))
    stock = SimpleNamespace(symbol="NEE", news_ids=ids)
    embedder, cache = CountingEmbedder(), {}  # type: ignore[var-annotated]

    # Pending: no events yet, NaN vectors, and nothing kept for later.
    with session_factory() as session:
        pending = item_vectors(session, [stock], embedder, cache=cache)["NEE"]  # type: ignore[arg-type, list-item]
    assert np.isnan(pending).all() and cache == {} and embedder.calls == 0

    extract_all(session_factory, pipeline)
    with session_factory() as session:
        first = item_vectors(session, [stock], embedder, cache=cache)["NEE"]  # type: ignore[arg-type, list-item]
        embedded = embedder.calls
        again = item_vectors(session, [stock], embedder, cache=cache)["NEE"]  # type: ignore[arg-type, list-item]
        plain = item_vectors(session, [stock], embedder)["NEE"]  # type: ignore[arg-type, list-item]
    with session_factory() as session:
        has_events = {
            h
            for h, n in session.execute(
                select(Event.headline_id, func.count()).group_by(Event.headline_id)
            )
            if n
        }
    assert embedded > 0 and 0 < len(has_events) < len(ids)
    for k, h in enumerate(ids):  # an item with events has its vector, one without NaN
        assert np.isnan(first[k]).all() != (h in has_events), (TEXTS[k], first[k])
    assert len(cache) == len(ids)  # every processed item kept, the one without events too
    assert embedder.calls == 2 * embedded  # the second call embedded nothing, the plain one all
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(plain, first)
