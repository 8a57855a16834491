"""Ingestion over real HTTP, on SQLite and PostgreSQL: happy path, idempotency, bad input."""

from __future__ import annotations

import json

import pytest

from tests.samples import wait_until_processed

BARS = [
    {
        "date": "2016-06-23",
        "open": 17844.11,
        "high": 18011.07,
        "low": 17844.11,
        "close": 18011.07,
        "adj_close": 18011.07,
        "volume": 98070000,
    },
    {
        "date": "2016-06-24",
        "open": 17946.63,
        "high": 17946.63,
        "low": 17356.34,
        "close": 17400.75,
        "adj_close": 17400.75,
        "volume": 239000000,
    },
]
HEADLINES = [
    {"date": "2016-06-24", "rank": 1, "text": "Britain votes to leave the European Union"},
    {"date": "2016-06-24", "rank": 2, "text": "b'Pound drops nearly 5% against the dollar'"},
    {"date": "2016-06-24", "rank": 3, "text": "!!! ### ***"},
]


def _tables(live) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {t: live.count(t) for t in ("headlines", "prices", "events", "event_entities")}


def test_post_prices_then_repost_is_idempotent(http, live) -> None:  # type: ignore[no-untyped-def]
    first = http.post("/v1/prices", json={"symbol": "DJIA", "items": BARS})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "received": 2,
        "inserted": 2,
        "already_present": 0,
        "pending": 0,
    }
    again = http.post("/v1/prices", json={"symbol": "DJIA", "items": BARS})
    assert again.json()["inserted"] == 0 and again.json()["already_present"] == 2
    assert live.count("prices") == 2


def test_post_headlines_answers_at_once_and_events_follow(http, live) -> None:  # type: ignore[no-untyped-def]
    resp = http.post("/v1/headlines", json={"items": HEADLINES})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["inserted"] == 3 and body["pending"] == 3
    again = http.post("/v1/headlines", json={"items": HEADLINES})
    assert again.json()["inserted"] == 0 and again.json()["already_present"] == 3
    assert again.json()["pending"] == 0  # nothing new to extract
    assert live.count("headlines") == 3

    # The service's own extractor processes them after the commit, within a bounded wait.
    status = wait_until_processed(http)
    assert status["processed"] == 3 and status["in_process_extractor"] is True
    assert status["events"] == live.count("events") >= 2
    assert status["processed_last_minute"] == 3 and status["oldest_pending_since"] is None
    day = http.get("/v1/events", params={"date": "2016-06-24"}).json()
    assert all(h["processed"] for h in day["headlines"])
    by_rank = {h["rank"]: h for h in day["headlines"]}
    # The bytes-literal artefact is stripped before storing.
    assert by_rank[2]["text"] == "Pound drops nearly 5% against the dollar"
    leave = [e for e in by_rank[1]["events"] if e["predicate"]["lemma"] == "leave"]
    assert leave, by_rank[1]
    ids = {x["id"] for e in by_rank[1]["events"] for x in e["entities"]}
    assert {"Q145", "Q458"} <= ids
    # A headline of symbols is stored, processed, and has no events.
    assert by_rank[3]["processed"] and by_rank[3]["events"] == []


BAD_PRICE_BATCHES = {
    "negative price": ({"symbol": "DJIA", "items": [{**BARS[0], "open": -1}]}, "items[0].open"),
    "high below low": (
        {"symbol": "DJIA", "items": [BARS[0], {**BARS[1], "high": 17000.0}]},
        "items[1]",
    ),
    "close above high": ({"symbol": "DJIA", "items": [{**BARS[0], "close": 99999.0}]}, "items[0]"),
    "string price": ({"symbol": "DJIA", "items": [{**BARS[0], "low": "cheap"}]}, "items[0].low"),
    "fractional volume": (
        {"symbol": "DJIA", "items": [{**BARS[0], "volume": 1.5}]},
        "items[0].volume",
    ),
    "negative volume": (
        {"symbol": "DJIA", "items": [{**BARS[0], "volume": -3}]},
        "items[0].volume",
    ),
    "impossible date": (
        {"symbol": "DJIA", "items": [{**BARS[0], "date": "2016-02-30"}]},
        "items[0].date",
    ),
    "not ISO date": (
        {"symbol": "DJIA", "items": [{**BARS[0], "date": "24/06/2016"}]},
        "items[0].date",
    ),
    "bad symbol": ({"symbol": "dj ia!", "items": BARS}, "symbol"),
    "long symbol": ({"symbol": "A" * 16, "items": BARS}, "symbol"),
    "empty batch": ({"symbol": "DJIA", "items": []}, "items"),
    "too many items": ({"symbol": "DJIA", "items": [BARS[0]] * 5001}, "items"),
    "unknown field": ({"symbol": "DJIA", "items": [{**BARS[0], "colse": 1.0}]}, "items[0].colse"),
}


@pytest.mark.parametrize("case", sorted(BAD_PRICE_BATCHES))
def test_bad_price_batches_are_rejected_whole(http, live, case: str) -> None:  # type: ignore[no-untyped-def]
    payload, field = BAD_PRICE_BATCHES[case]
    before = _tables(live)
    resp = http.post("/v1/prices", json=payload)
    assert resp.status_code == 422, resp.text
    fields = [e["field"] for e in resp.json()["errors"]]
    assert any(f.startswith(field) for f in fields), fields
    assert _tables(live) == before


def test_nan_price_is_rejected(http, live) -> None:  # type: ignore[no-untyped-def]
    raw = json.dumps({"symbol": "DJIA", "items": [{**BARS[0], "close": float("nan")}]})
    assert "NaN" in raw
    resp = http.post("/v1/prices", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"].startswith("items[0].close")
    assert live.count("prices") == 0


BAD_HEADLINE_BATCHES = {
    "10 kB headline": (
        {"items": [HEADLINES[0], {**HEADLINES[1], "text": "x" * 10_000}]},
        "items[1].text",
    ),
    "empty after cleaning": ({"items": [{**HEADLINES[0], "text": "b''"}]}, "items[0].text"),
    "blank": ({"items": [{**HEADLINES[0], "text": "   "}]}, "items[0].text"),
    "missing date": ({"items": [{"text": "Pound drops"}]}, "items[0].date"),
    "impossible date": ({"items": [{**HEADLINES[0], "date": "2016-02-30"}]}, "items[0].date"),
    "number as text": ({"items": [{**HEADLINES[0], "text": 42}]}, "items[0].text"),
    "rank zero": ({"items": [{**HEADLINES[0], "rank": 0}]}, "items[0].rank"),
    "empty batch": ({"items": []}, "items"),
    "too many items": ({"items": [HEADLINES[0]] * 5001}, "items"),
    "not a list": ({"items": "Britain votes"}, "items"),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADLINE_BATCHES))
def test_bad_headline_batches_are_rejected_whole(http, live, case: str) -> None:  # type: ignore[no-untyped-def]
    payload, field = BAD_HEADLINE_BATCHES[case]
    before = _tables(live)
    resp = http.post("/v1/headlines", json=payload)
    assert resp.status_code == 422, resp.text
    errors = resp.json()["errors"]
    assert any(e["field"].startswith(field) for e in errors), errors
    assert _tables(live) == before


def test_malformed_json_names_the_body(http, live) -> None:  # type: ignore[no-untyped-def]
    resp = http.post(
        "/v1/headlines", content=b'{"items": [', headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422
    error = resp.json()["errors"][0]
    assert error["field"] == "body" and "malformed JSON" in error["message"]
    assert live.count("headlines") == 0


def test_rejected_item_reports_its_index(http) -> None:  # type: ignore[no-untyped-def]
    items = [BARS[0], {**BARS[1], "open": 0}]
    errors = http.post("/v1/prices", json={"symbol": "DJIA", "items": items}).json()["errors"]
    assert [e["index"] for e in errors] == [1]


def test_writes_need_the_api_key_when_one_is_set(tmp_path, pipeline) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from app.main import create_app
    from app.migrate import upgrade
    from app.settings import Settings
    from tests.liveserver import LiveServer, free_port

    url = f"sqlite:///{tmp_path / 'keyed.sqlite3'}"
    upgrade(url)
    settings = Settings(database_url=url, artifacts_dir=tmp_path, api_key="s3cret")
    app = create_app(settings, pipeline_factory=lambda _s: pipeline)
    payload = {"symbol": "DJIA", "items": BARS}
    with LiveServer(app, free_port()) as server, httpx.Client(base_url=server.base_url) as c:
        assert c.post("/v1/prices", json=payload).status_code == 401
        wrong = c.post("/v1/prices", json=payload, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401 and server.count("prices") == 0
        ok = c.post("/v1/prices", json=payload, headers={"X-API-Key": "s3cret"})
        assert ok.status_code == 200 and server.count("prices") == 2
        assert c.get("/v1/events", params={"date": "2016-06-24"}).status_code == 200
