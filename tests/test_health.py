"""Liveness and readiness over real HTTP: /readyz is 503 until a model version is recorded."""

from __future__ import annotations

from app.db import transaction
from app.services.model_versions import record_version


def test_readyz_needs_a_recorded_model_version(http, live) -> None:  # type: ignore[no-untyped-def]
    assert http.get("/healthz").json() == {"status": "ok"}
    resp = http.get("/readyz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["ready"] is False
    checks = body["checks"]
    assert checks["database"] == "ok" and checks["pipeline"] == "loaded"
    assert checks["models"]["recorded"] == {} and checks["models"]["loaded"] == []
    assert "kdtcn train" in checks["models"]["error"]

    # "Recorded" is a row in model_versions; readiness does not open the artifact.
    with transaction(live.app.state.sessionmaker) as session:
        for version in ("v1", "v2"):
            record_version(
                session=session,
                name="KDTCN",
                symbol="DJIA",
                target="next_day",
                version=version,
                artifact_path=f"/nonexistent/{version}",
                embedding_version=None,
                train_start=None,
                train_end=None,
                metrics={},
                config={},
            )
    resp = http.get("/readyz")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "ready": True,
        "checks": {
            "database": "ok",
            "pipeline": "loaded",
            "models": {"recorded": {"next_day": 2}, "loaded": []},
            "training": {
                "done": 0,
                "queued": 0,
                "running": 0,
                "failed": 0,
                "mean_job_seconds": None,
                "estimated_seconds_left": 0,
            },
        },
    }
