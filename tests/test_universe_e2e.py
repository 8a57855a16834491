"""A universe network end to end (issue 31, part 4), as a user runs it: StockNet's utilities
imported with their tweets and events, a universe version trained up to a cut, and the ranked
cross-section served over real HTTP, point in time and cut at D's close."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import PROJECT_ROOT, Settings
from models.calendar import session_close
from tests.liveserver import LiveServer, free_port
from tests.samples import wait_until_processed

pytestmark = pytest.mark.slow

STOCKS = ("AEP", "EXC", "NEE", "NGG", "PCG", "PPL", "SRE")  # utilities: related by sector
CUT = dt.date(2015, 6, 30)
D = dt.date(2015, 7, 15)  # a Wednesday after the cut


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A database with the slice imported and one universe version trained up to CUT."""
    root = tmp_path_factory.mktemp("universe")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{root / 'kdtcn.sqlite3'}",
        "ARTIFACTS_DIR": str(root / "artifacts"),
        "PYSTOW_HOME": str(PROJECT_ROOT / "var" / "pystow"),
    }

    def kdtcn(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    kdtcn("db", "upgrade")
    kdtcn(
        "import",
        "stocknet",
        "--symbols",
        ",".join(STOCKS),
        "--start",
        "2015-01-01",
        "--end",
        "2015-07-31",
    )
    said = kdtcn(
        "train-universe",
        "--universe",
        "stocknet",
        "--until",
        CUT.isoformat(),
        "--kg-epochs",
        "1",
        "--seeds",
        "1",
    )
    assert "7 stocks" in said, said
    return env


@pytest.fixture(scope="module")
def http(world, pipeline) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    from app.main import create_app

    settings = Settings(
        database_url=world["DATABASE_URL"],
        artifacts_dir=Path(world["ARTIFACTS_DIR"]),
        pystow_home=PROJECT_ROOT / "var" / "pystow",
        bootstrap=False,
    )
    app = create_app(settings, pipeline_factory=lambda _s: pipeline)
    with (
        LiveServer(app, free_port()) as server,
        httpx.Client(base_url=server.base_url, timeout=120) as client,
    ):
        yield client


def _ranked(http: httpx.Client, day: dt.date) -> dict:  # type: ignore[type-arg]
    answer = http.get("/v1/predictions", params={"universe": "stocknet", "date": day.isoformat()})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_cross_section_ranks_every_stock_from_the_version_of_its_day(http) -> None:  # type: ignore[no-untyped-def]
    body = _ranked(http, D)
    assert body["cut"] == CUT.isoformat() and body["target"] == "next_day"
    assert body["tradable"] is True and body["news_timing"] == "timestamps"
    assert sorted(a["symbol"] for a in body["answers"]) == sorted(STOCKS)
    assert [a["rank"] for a in body["answers"]] == list(range(1, len(STOCKS) + 1))
    ps = [a["p"] for a in body["answers"]]
    assert ps == sorted(ps, reverse=True) and all(0 < p < 1 for p in ps)
    # Before the cut no version may answer: its labels reach past the day predicted.
    early = http.get("/v1/predictions", params={"universe": "stocknet", "date": "2015-06-15"})
    assert early.status_code == 409 and "kdtcn train-universe" in early.text
    bad = http.get("/v1/predictions", params={"universe": "no such!", "date": D.isoformat()})
    assert bad.status_code == 422 and "universe" in bad.text


def test_news_is_read_up_to_the_close_of_d_only(http) -> None:  # type: ignore[no-untyped-def]
    before = {a["symbol"]: a for a in _ranked(http, D)["answers"]}
    close = session_close(D)
    minute = dt.timedelta(minutes=1)
    items = [
        ("before", "PCG", "PG&E raises its dividend by a third", close - minute),
        ("after", "AEP", "AEP raises its dividend by a third", close + minute),
    ]
    posted = http.post(
        "/v1/headlines",
        json={
            "items": [
                {
                    "id": tag,
                    "source": "wire",
                    "symbols": [symbol],
                    "text": text,
                    "published_at": when.isoformat(),
                }
                for tag, symbol, text, when in items
            ]
        },
    )
    assert posted.status_code in (200, 201, 202), posted.text
    wait_until_processed(http)
    after = {a["symbol"]: a for a in _ranked(http, D)["answers"]}
    assert after["PCG"]["items_read"] == before["PCG"]["items_read"] + 1
    assert after["PCG"]["p"] != before["PCG"]["p"]
    assert after["AEP"]["items_read"] == before["AEP"]["items_read"]


def test_an_explanation_shows_a_related_stocks_item_and_the_facts_between(http) -> None:  # type: ignore[no-untyped-def]
    text = "NextEra Energy buys a solar farm in Texas"
    posted = http.post(
        "/v1/headlines",
        json={
            "items": [
                {
                    "id": "explain-nee",
                    "source": "wire",
                    "symbols": ["NEE"],
                    "text": text,
                    "published_at": (session_close(D) - dt.timedelta(hours=2)).isoformat(),
                }
            ]
        },
    )
    assert posted.status_code == 200, posted.text
    wait_until_processed(http)
    answer = http.get(
        "/v1/explanations", params={"universe": "stocknet", "symbol": "SRE", "date": D.isoformat()}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    ranked = {a["symbol"]: a for a in _ranked(http, D)["answers"]}
    assert body["p"] == ranked["SRE"]["p"] and body["cut"] == CUT.isoformat()
    related = {r["symbol"]: r for r in body["related"]}
    nee = related["NEE"]
    assert any(item["text"] == text and item["events"] for item in nee["items"])
    assert nee["relation"]["same_sector"] == 1.0
    # The chain of facts runs from SRE's node to NEE's (both are stocks of their own here).
    assert nee["path"][0][0] == "stock:SRE" and nee["path"][-1][0] == "stock:NEE"
    assert 0.0 <= nee["attention"] <= 1.0
    assert sum(r["attention"] for r in body["related"]) <= 1.0 + 1e-6
    # Leaving NEE's items out changes the answer by its effect, so the effect is not 0.
    assert nee["effect"] != 0.0
    missing = http.get(
        "/v1/explanations",
        params={"universe": "stocknet", "symbol": "AAPL", "date": D.isoformat()},
    )
    assert missing.status_code == 404 and "AAPL" in missing.text
