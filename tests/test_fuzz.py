"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis), over
real HTTP on SQLite and on PostgreSQL: no 5xx, and every response is one the document
describes, with the documented content type and body schema.

Schemathesis's pytest plugin does not run under pytest 9, so its Hypothesis strategies are
driven directly, one operation at a time.
"""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.liveserver import LiveServer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# /readyz answers its documented 503 here by design: this server has no model version.
READYZ_CHECKS = [c for c in CHECKS if c is not not_a_server_error]
EXAMPLES = 80


def test_api_never_5xx_and_matches_its_schema(live: LiveServer) -> None:
    # Two bars make DJIA a known symbol, so predictions get past the 404.
    bars = [
        {"date": d, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5, "volume": 10}
        for d in ("2016-06-23", "2016-06-24")
    ]
    resp = httpx.post(f"{live.base_url}/v1/prices", json={"symbol": "DJIA", "items": bars})
    assert resp.status_code == 200, resp.text
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case) -> None:  # type: ignore[no-untyped-def]
            ready = case.operation.path == "/readyz"
            case.call_and_validate(checks=READYZ_CHECKS if ready else CHECKS)

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - collected and reported together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
