"""Latency of the prediction and explanation endpoints, uncached and cached, over HTTP.

    DATABASE_URL=... ARTIFACTS_DIR=... .venv/bin/python benchmarks/bench_latency.py

Starts the service (settings from the environment, as `kdtcn serve` would, without the
first-run build) on a free 127.0.0.1 port in this process, so the cache starts empty, and
stops it at the end. Uncached: the first request for a date; cached: the same request again.
Bounded: 20 dates x 2 endpoints x 4 targets x 2 passes. Explanations are the defaults of
GET /v1/explanations (Shapley values by sampled permutations, a graph of at most 40 nodes).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import httpx

# The server helper lives with the tests (tests/liveserver.py), which are not an installed package.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATES = [
    f"2016-06-{d:02d}"
    for d in (1, 2, 3, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 27, 28)
]


def timed(client: httpx.Client, path: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    resp = client.get(path, params=params)
    resp.raise_for_status()
    return (time.perf_counter() - started) * 1000


def report(label: str, values: list[float]) -> None:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    print(
        f"{label:34s} n={len(values):3d}  median {statistics.median(values):7.1f} ms  "
        f"p95 {p95:7.1f} ms  max {values[-1]:7.1f} ms"
    )


def main() -> None:
    from app.main import create_app
    from app.settings import get_settings
    from tests.liveserver import LiveServer

    app = create_app(get_settings())
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.base_url, timeout=120) as client,
    ):
        for path in ("/v1/predictions/DJIA", "/v1/explanations/DJIA"):
            for target in os.environ.get("BENCH_TARGETS", "next_day,same_day,big_move,next_close").split(","):
                cold, warm = [], []
                for date in DATES:
                    params = {"date": date, "target": target}
                    cold.append(timed(client, path, params))
                    warm.append(timed(client, path, params))
                report(f"{path.split('/')[2]} {target} uncached", cold)
                report(f"{path.split('/')[2]} {target} cached", warm)


if __name__ == "__main__":
    main()
