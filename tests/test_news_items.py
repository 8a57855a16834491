"""News items with times, symbols and ids (issue 31, part 1): the parser's text of a tweet,
closing times from the exchange calendar, and the items over real HTTP on both backends."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError

from app.schemas import HeadlineIn
from app.services.daily import collect_days
from app.services.headlines import insert_headlines
from kg.pipeline import restore_spans
from kg.text import parser_text
from kg.types import EntityLink, Event, Phrase
from models.calendar import previous_close, session_close
from models.inputs import assign_news, news_timing
from tests.samples import wait_until_processed

TWEETS = [
    {
        "id": "656943209212416000",
        "published_at": "2015-10-22T20:05:00Z",
        "symbols": ["AMZN"],
        "source": "twitter",
        "text": "RT @trader: Amazon beats estimates, shares jump after hours $AMZN http://t.co/x1",
    },
    {
        "id": "656943209212416001",
        "published_at": "2015-10-22T16:05:00-04:00",
        "symbols": ["MSFT", "AMZN"],
        "source": "twitter",
        "text": "Microsoft posts strong cloud growth $MSFT $AMZN #earnings",
    },
]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        (
            "RT @a: $AAPL falls after iPhone news http://t.co/x",
            "        AAPL falls after iPhone news",
        ),
        (".@Boeing wins big orders $BA $JPM", ". Boeing wins big orders"),
        ("Apple earns $5 billion #AAPL", "Apple earns $5 billion"),
        ("$AAPL $GOOG", " AAPL  GOOG"),
        ("RT a1: RT b2: Can $AAPL break out? http://t", "              Can  AAPL break out?"),
        ("RT $QQQ algos trigger BUY #Quant $MSFT", "    QQQ algos trigger BUY"),
        ("Nice RT @x: Apple up", "Nice        Apple up"),
        ('RT IBM "RT SeekingAlpha: Stop hating IBM"', '   IBM "                 Stop hating IBM"'),
        ("$TSLA up 5% on Model X #EV", " TSLA up 5% on Model X"),
    ],
)
def test_parser_text_blanks_tweet_syntax_and_keeps_offsets(text: str, parsed: str) -> None:
    out = parser_text(text)
    assert len(out) == len(text)
    assert out.rstrip() == parsed


def test_restored_spans_are_the_stored_texts() -> None:
    text = "#Nest releases #Weave protocol $GOOG"
    cleaned = parser_text(text)
    start = cleaned.index("Weave")
    event = Event(
        subject=Phrase(cleaned[1:5], 1, 5, "nest"),
        predicate=Phrase("releases", 6, 14, "release"),
        object=Phrase(cleaned[start - 1 : start + 14], start - 1, start + 14, "protocol"),
    )
    link = EntityLink(cleaned[1:5], 1, 5, "Q1", "Nest", 0.9, "subject")
    ((restored, links),) = restore_spans(text, cleaned, [(event, [link])])
    # The parser's span began at the blanked '#': trimmed to the words, the stored text's span.
    assert restored.object is not None and restored.object.text == "Weave protocol"
    assert restored.object.start == start
    for phrase in (restored.subject, restored.predicate, restored.object):
        assert text[phrase.start : phrase.end] == phrase.text
    assert links[0].mention == "Nest" and links[0].entity_id == "Q1"


def test_closing_times_follow_the_exchange_calendar() -> None:
    utc = dt.UTC
    # A Friday's news before Monday's move: Friday's close, 16:00 New York (20:00 UTC in EDT).
    assert previous_close(dt.date(2015, 10, 26)) == dt.datetime(2015, 10, 23, 20, 0, tzinfo=utc)
    # Winter time: 21:00 UTC; the day after Thanksgiving closed early, at 13:00.
    assert previous_close(dt.date(2015, 12, 1)) == dt.datetime(2015, 11, 30, 21, 0, tzinfo=utc)
    assert previous_close(dt.date(2015, 11, 30)) == dt.datetime(2015, 11, 27, 18, 0, tzinfo=utc)
    # Independence Day observed on Friday 2015-07-03: Monday's news cut is Thursday's close.
    assert previous_close(dt.date(2015, 7, 6)) == dt.datetime(2015, 7, 2, 20, 0, tzinfo=utc)
    with pytest.raises(ValueError, match="not a trading day"):
        session_close(dt.date(2015, 7, 4))


def test_an_item_is_dated_by_new_york_time_unless_dated() -> None:
    late = HeadlineIn.model_validate({**TWEETS[0], "published_at": "2015-10-23T02:00:00Z"})
    assert late.date == dt.date(2015, 10, 22)  # 22:00 in New York
    assert late.published_at == dt.datetime(2015, 10, 23, 2, 0, tzinfo=dt.UTC)
    filed = HeadlineIn.model_validate({**TWEETS[0], "date": "2015-10-23"})
    assert filed.date == dt.date(2015, 10, 23)
    shifted = HeadlineIn.model_validate(TWEETS[1])
    assert shifted.published_at == dt.datetime(2015, 10, 22, 20, 5, tzinfo=dt.UTC)
    assert shifted.symbols == ["AMZN", "MSFT"]


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"published_at": "2015-10-22T20:05:00"}, "published_at", "time zone"),
        ({"published_at": None}, "date", "date, published_at or both"),
        ({"symbols": ["amzn"]}, "symbols", "pattern"),
        ({"id": ""}, "id", "at least 1"),
    ],
)
def test_bad_items_name_their_field(change: dict, field: str, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HeadlineIn.model_validate({**TWEETS[0], **change})
    error = caught.value.errors()[0]
    assert field in ".".join(str(x) for x in error["loc"]) and why in error["msg"], error


def test_items_with_ids_symbols_and_times_over_http(http, live) -> None:  # type: ignore[no-untyped-def]
    first = http.post("/v1/headlines", json={"items": TWEETS})
    assert first.status_code == 200, first.text
    assert first.json()["inserted"] == 2
    # The same ids again, one with other words and symbols: stored once, first write wins.
    changed = {**TWEETS[0], "text": "edited", "symbols": ["AAPL"]}
    again = http.post("/v1/headlines", json={"items": [changed, TWEETS[1]]})
    assert again.json()["inserted"] == 0 and again.json()["already_present"] == 2
    # The same words under a new id (a retweet) are a second item.
    retweet = {**TWEETS[0], "id": "656943209212416002"}
    assert http.post("/v1/headlines", json={"items": [retweet]}).json()["inserted"] == 1
    assert live.count("headlines") == 3 and live.count("headline_symbols") == 4
    wait_until_processed(http)

    day = http.get("/v1/events", params={"date": "2015-10-22", "symbol": "MSFT"})
    assert day.status_code == 200, day.text
    body = day.json()
    assert body["symbol"] == "MSFT" and len(body["headlines"]) == 1
    item = body["headlines"][0]
    assert item["symbols"] == ["AMZN", "MSFT"] and item["external_id"] == TWEETS[1]["id"]
    assert item["published_at"] == "2015-10-22T20:05:00Z" and item["text"] == TWEETS[1]["text"]
    assert item["processed"] and item["events"], item
    for event in item["events"]:  # spans of the stored text, tweet syntax and all
        for role in ("subject", "predicate", "object"):
            span = event[role]
            if span is not None:
                start, end = span["span"]
                assert item["text"][start:end] == span["text"], event
    amzn = http.get("/v1/events", params={"date": "2015-10-22", "symbol": "AMZN"}).json()
    assert len(amzn["headlines"]) == 3
    amazon = next(h for h in amzn["headlines"] if h["external_id"] == TWEETS[0]["id"])
    subjects = [e["subject"]["text"] for e in amazon["events"]]
    assert "RT" not in " ".join(subjects) and "@trader" not in " ".join(subjects), subjects


def test_a_rejected_batch_of_items_writes_nothing(http, live) -> None:  # type: ignore[no-untyped-def]
    bad = {**TWEETS[1], "published_at": "2015-10-22T20:05:00"}
    resp = http.post("/v1/headlines", json={"items": [TWEETS[0], bad]})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"].startswith("items[1].published_at")
    assert live.count("headlines") == 0 and live.count("headline_symbols") == 0


def test_assign_news_cuts_timed_items_at_each_close() -> None:
    days = [dt.date(2015, 10, 21), dt.date(2015, 10, 22), dt.date(2015, 10, 23)]
    closes = [session_close(d) for d in days]
    minute = dt.timedelta(minutes=1)
    published = [
        closes[0] - minute,  # before the 21st's close: the 21st's news
        closes[0] + minute,  # after it: the 22nd's
        closes[2] + minute,  # after the last close: not read
        closes[0] - dt.timedelta(days=1) - minute,  # before the 20th's close: not read
        None,  # dated the 22nd only: the 22nd's, at the end of its date
    ]
    dates = [p.date() if p else dt.date(2015, 10, 22) for p in published]
    since = dt.date(2015, 10, 20)
    which = assign_news(
        dates, published, days, closes, since=since, since_close=session_close(since)
    )
    assert which.tolist() == [0, 1, -1, -1, 1]


def test_a_symbols_news_is_cut_at_the_close_and_world_news_stays_apart(session_factory) -> None:  # type: ignore[no-untyped-def]
    d20, d21, d22 = dt.date(2015, 10, 20), dt.date(2015, 10, 21), dt.date(2015, 10, 22)
    close = session_close(d21)
    minute = dt.timedelta(minutes=1)

    def item(text: str, **fields: object) -> HeadlineIn:
        return HeadlineIn.model_validate({"text": text, "source": "t", **fields})

    items = [
        item("Acme raises guidance", published_at=close - minute, symbols=["ACME"], id="1"),
        item("Acme chief resigns", published_at=close + minute, symbols=["ACME"], id="2"),
        item("Other Co wins order", published_at=close - minute, symbols=["OTHR"], id="3"),
        item("Britain votes on budget", date="2015-10-21", rank=1),
    ]
    with session_factory.begin() as session:
        insert_headlines(session=session, items=items)
    with session_factory() as session:

        def read(symbol: str) -> list:  # type: ignore[type-arg]
            return collect_days(
                session=session,
                dates=[d21, d22],
                embed=lambda *_: np.zeros(4, dtype=np.float32),
                dim=4,
                since=d20,
                symbol=symbol,
            )

        acme = read("ACME")
        assert [(d.n_headlines, d.n_timed) for d in acme] == [(1, 1), (1, 1)]
        assert news_timing(acme) == "timestamps"
        # A symbol without news of its own reads world news (the demo's way), by date.
        index = read("DJIA")
        assert [(d.n_headlines, d.n_timed) for d in index] == [(1, 0), (0, 0)]
        assert news_timing(index) == "dates only"
