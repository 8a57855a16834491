"""Faults and hostile input over real HTTP: every error is JSON, none leaves the connection
unusable, nothing of a rejected request is written, and nothing secret reaches the logs."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, StatementError

from app.db import DatabaseBusy, make_engine, make_sessionmaker, run_transaction
from app.main import create_app
from app.migrate import upgrade
from app.settings import PROJECT_ROOT, Settings
from tests.liveserver import LiveServer, free_port
from tests.samples import BAR

TABLES = ("headlines", "prices", "events", "event_entities")


def _counts(live: LiveServer) -> dict[str, int]:
    return {t: live.count(t) for t in TABLES}


def _serve(tmp_path: Path, pipeline: object = None, **overrides: object) -> LiveServer:
    url = f"sqlite:///{tmp_path / 'faults.sqlite3'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        artifacts_dir=tmp_path / "artifacts",
        pystow_home=PROJECT_ROOT / "var" / "pystow",
        bootstrap=False,
        **overrides,
    )
    return LiveServer(create_app(settings, pipeline_factory=lambda _s: pipeline), free_port())


def test_migration_creates_the_sqlite_folder(tmp_path: Path) -> None:
    """A clean clone has no var/: the first migration must create the database's folder."""
    url = f"sqlite:///{tmp_path / 'var' / 'nested' / 'kdtcn.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM headlines")).scalar_one() == 0
    engine.dispose()


@pytest.mark.parametrize(
    ("raw_text", "code_point"),
    [
        ('"NUL in \\u0000 the middle"', "U+0000"),
        ('"lone surrogate \\ud800 here"', "U+D800"),
        ('"ANSI \\u001b[31mred\\u001b[0m text"', "U+001B"),
        ('"bell \\u0007 ringing"', "U+0007"),
    ],
)
def test_control_characters_and_surrogates_are_rejected_on_both_backends(
    http, live, raw_text: str, code_point: str
) -> None:  # type: ignore[no-untyped-def]
    body = '{"items": [{"date": "2016-06-24", "text": "fine headline"}, {"date": "2016-06-24", '
    body += f'"text": {raw_text}}}]}}'
    resp = http.post("/v1/headlines", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    errors = resp.json()["errors"]
    assert errors[0]["field"] == "items[1].text" and errors[0]["index"] == 1
    assert code_point in errors[0]["message"]
    assert _counts(live) == dict.fromkeys(TABLES, 0)


def test_whitespace_controls_collapse_to_spaces(http, live) -> None:  # type: ignore[no-untyped-def]
    resp = http.post(
        "/v1/headlines",
        json={"items": [{"date": "2016-06-24", "text": "Tabs\tand\r\nnewlines\x0cfold"}]},
    )
    assert resp.status_code == 200, resp.text
    day = http.get("/v1/events", params={"date": "2016-06-24"}).json()
    assert day["headlines"][0]["text"] == "Tabs and newlines fold"


def test_volume_beyond_64_bits_is_a_named_422(http, live) -> None:  # type: ignore[no-untyped-def]
    resp = http.post("/v1/prices", json={"symbol": "DJIA", "items": [{**BAR, "volume": 2**63}]})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "items[0].volume"
    ok = http.post("/v1/prices", json={"symbol": "DJIA", "items": [{**BAR, "volume": 2**63 - 1}]})
    assert ok.status_code == 200, ok.text
    assert live.count("prices") == 1


def test_dates_outside_the_supported_range_are_422_not_500(http) -> None:  # type: ignore[no-untyped-def]
    for path in ("/v1/events?date=0001-01-01", "/v1/predictions/DJIA?date=0001-01-01"):
        resp = http.get(path)
        assert resp.status_code == 422, (path, resp.text)
        assert resp.json()["detail"] == "invalid request"
        assert resp.json()["errors"][0]["field"] == "date"


def test_oversized_body_is_413_before_parsing(tmp_path: Path) -> None:
    with _serve(tmp_path, max_body_bytes=10_000) as live:
        big = json.dumps({"items": [{"date": "2016-06-24", "text": "x" * 900}] * 20})
        with httpx.Client(base_url=live.base_url) as client:
            resp = client.post(
                "/v1/headlines", content=big, headers={"content-type": "application/json"}
            )
            assert resp.status_code == 413 and "10000 bytes" in resp.json()["detail"]

            def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
                for i in range(0, len(big), 1000):
                    yield big[i : i + 1000].encode()

            resp = client.post(
                "/v1/headlines", content=chunks(), headers={"content-type": "application/json"}
            )
            assert resp.status_code == 413
            small = client.post("/v1/prices", json={"symbol": "DJIA", "items": [BAR]})
            assert small.status_code == 200, small.text
        assert live.count("headlines") == 0


def test_wrong_api_key_is_401_without_reading_the_body(tmp_path: Path) -> None:
    with _serve(tmp_path, api_key="s3cret", max_body_bytes=1000) as live:
        host, port = "127.0.0.1", int(live.base_url.rsplit(":", 1)[1])
        with socket.create_connection((host, port), timeout=10) as sock:
            # Announce 50 MB but send only the headers: the answer must come at once.
            sock.sendall(
                b"POST /v1/headlines HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 52428800\r\n\r\n"
            )
            head = sock.recv(4096).decode()
        assert head.startswith("HTTP/1.1 401"), head
        with httpx.Client(base_url=live.base_url) as client:
            ok = client.post(
                "/v1/prices",
                json={"symbol": "DJIA", "items": [BAR]},
                headers={"X-API-Key": "s3cret"},
            )
            assert ok.status_code == 200, ok.text


class _BrokenPipeline:
    version = "broken"
    graph = None

    def __init__(self) -> None:
        self.calls = 0  # the in-process extractor thread calls this very object

    def process(self, texts: list[str]) -> list:
        self.calls += 1
        raise RuntimeError("extractor crashed")


class _NoVersion(_BrokenPipeline):
    @property
    def version(self) -> str:  # type: ignore[override]
        raise RuntimeError("no version")


def test_a_failing_extractor_leaves_headlines_pending_and_the_service_answering(
    tmp_path: Path,
) -> None:
    broken = _BrokenPipeline()
    with (
        _serve(tmp_path, pipeline=broken) as live,
        httpx.Client(base_url=live.base_url, timeout=30) as client,
    ):
        body = {"items": [{"date": "2016-06-24", "text": "Markets fall"}]}
        resp = client.post("/v1/headlines", json=body)
        assert resp.status_code == 200 and resp.json()["pending"] == 1
        deadline = time.monotonic() + 30
        while broken.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        # the extractor did try (and failed, logged, backing off): not a pass by absence
        assert broken.calls >= 1
        status = client.get("/v1/ingest").json()
        assert status["pending"] == 1 and status["processed"] == 0
        # Stored, not lost: pending until an extractor that works processes it.
        assert live.count("headlines") == 1 and live.count("events") == 0


def test_a_500_is_json_and_the_keep_alive_connection_stays_usable(tmp_path: Path) -> None:
    with _serve(tmp_path, pipeline=_NoVersion()) as live:
        conn = http.client.HTTPConnection("127.0.0.1", int(live.base_url.rsplit(":", 1)[1]))
        conn.request("GET", "/v1/ingest")
        first = conn.getresponse()
        payload = json.loads(first.read())
        assert first.status == 500 and "internal error" in payload["detail"]
        assert first.getheader("content-type") == "application/json"
        sock = conn.sock
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        assert second.status == 200 and json.loads(second.read()) == {"status": "ok"}
        assert conn.sock is sock, "the server closed the connection after the 500"
        conn.close()


def test_security_headers_and_no_server_banner(http) -> None:  # type: ignore[no-untyped-def]
    for path in ("/healthz", "/v1/events?date=2016-06-24", "/v1/nope"):
        resp = http.get(path)
        assert resp.headers["x-content-type-options"] == "nosniff", path
        assert "server" not in resp.headers, path
    missing = http.get("/v1/nope")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    page = http.get("/v1/explanations/DJIA/view")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_openapi_describes_the_real_error_bodies(http) -> None:  # type: ignore[no-untyped-def]
    doc = http.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorBody"]["properties"]) == {"detail", "errors", "job"}
    post = doc["paths"]["/v1/headlines"]["post"]["responses"]
    for status in ("401", "413", "422", "503"):
        ref = post[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorBody"), status
    get = doc["paths"]["/v1/predictions/{symbol}"]["get"]["responses"]
    assert {"404", "409", "422", "503"} <= set(get)
    # Answers are typed too: the document names their schemas.
    for path, names in [
        # a symbol's own version, or its universe network's answer (issue 31)
        ("/v1/predictions/{symbol}", {"PredictionPublic", "UniverseStockPrediction"}),
        ("/v1/explanations/{symbol}", {"ExplanationPublic", "UniverseExplanation"}),
        ("/v1/events", {"EventsOfDay"}),
        ("/v1/models", {"ModelList"}),
    ]:
        ok = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        refs = [s["$ref"] for s in ok["schema"].get("anyOf", [ok["schema"]])]
        assert {ref.rsplit("/", 1)[1] for ref in refs} == names, path
    # A rejected write says nothing was written; a rejected read does not.
    write = http.post("/v1/prices", json={"symbol": "DJIA", "items": []})
    assert write.json()["detail"] == "request rejected; nothing was written"


def test_logs_carry_neither_query_strings_nor_sql_parameters(
    http, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO):
        http.get("/v1/events", params={"date": "2016-06-24", "api_key": "TOPSECRET"})
    access = [r.getMessage() for r in caplog.records if r.name == "kdtcn.access"]
    assert any(line.startswith("GET /v1/events 200") for line in access), access
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert not any("TOPSECRET" in r.getMessage() for r in server_side)

    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with pytest.raises(StatementError) as info, engine.connect() as conn:
        conn.execute(text("INSERT INTO missing_table VALUES (:t)"), {"t": "Secret headline"})
    assert "Secret headline" not in str(info.value)
    engine.dispose()


def test_metrics_in_prometheus_format(http) -> None:  # type: ignore[no-untyped-def]
    http.get("/v1/events", params={"date": "2016-06-24"})
    http.get("/v1/predictions/NOPE")
    resp = http.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    body = resp.text
    assert 'http_requests_total{handler="/v1/events",method="GET",status="200"}' in body
    assert 'handler="/v1/predictions/{symbol}"' in body  # templated, never the raw path
    assert "kdtcn_model_load_seconds_count" in body and "kdtcn_answer_seconds" in body


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _conflict(sqlstate: str = "40P01") -> OperationalError:
    return OperationalError("INSERT ...", {}, _Orig(sqlstate))


def test_run_transaction_retries_conflicts_then_gives_up(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    factory = make_sessionmaker(engine)
    calls = []

    def flaky(session: object) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _conflict()
        return "done"

    assert run_transaction(factory, flaky, base_delay=0.001) == "done" and len(calls) == 3

    def always(session: object) -> None:
        raise _conflict("40001")

    with pytest.raises(DatabaseBusy):
        run_transaction(factory, always, attempts=3, base_delay=0.001)

    def other(session: object) -> None:
        raise _conflict("23505")  # unique violation: a bug, not a conflict to retry

    with pytest.raises(OperationalError):
        run_transaction(factory, other, base_delay=0.001)
    engine.dispose()


def test_persistent_conflict_is_503_with_retry_after(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def busy(**_: object) -> None:  # run_transaction gave up: the conflict persisted
        raise DatabaseBusy("lock conflict persisted over 5 attempts")

    monkeypatch.setattr("app.api.ingest.store_headlines", busy)
    with (
        _serve(tmp_path) as live,
        httpx.Client(base_url=live.base_url) as client,
    ):
        resp = client.post(
            "/v1/headlines", json={"items": [{"date": "2016-06-24", "text": "Markets fall"}]}
        )
        assert resp.status_code == 503 and int(resp.headers["retry-after"]) > 0
        assert "retry later" in resp.json()["detail"]
