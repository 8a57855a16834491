"""Latency of the prediction and explanation endpoints, uncached and cached, over HTTP.

    .venv/bin/python benchmarks/bench_latency.py        # after a first start (scripts/serve.sh)

Starts the service in its own process (`kdtcn serve --no-bootstrap`, settings from the
environment as for `kdtcn serve`) on a free 127.0.0.1 port, so its cache starts empty and
the client does not share its interpreter, and stops it at the end. Uncached: the first
request for a date (not in the answer cache); cached: the same request again. Explanations
are measured first: each date's inputs then share 19 of 20 days with the date before, whose
event vectors the version's vector cache holds (app.services.daily.VectorCache), as when a
user steps through dates. The first request of each target (loading its model version,
embedding its window's events) is a warm-up and not counted. Bounded: 20 dates x 2 endpoints
x 4 targets x 2 passes; BENCH_TARGETS=same_day,next_close picks targets. Explanations are
the defaults of GET /v1/explanations (Shapley values by sampled permutations, a graph of at
most 40 nodes).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.liveserver import service_process  # noqa: E402

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
    with service_process() as client:
        targets = os.environ.get("BENCH_TARGETS", "next_day,same_day,big_move,next_close")
        for path in ("/v1/explanations/DJIA", "/v1/predictions/DJIA"):
            for target in targets.split(","):
                timed(client, path, {"date": "2016-05-31", "target": target})  # warm-up
                cold, warm = [], []
                for date in DATES:
                    params = {"date": date, "target": target}
                    cold.append(timed(client, path, params))
                    warm.append(timed(client, path, params))
                report(f"{path.split('/')[2]} {target} uncached", cold)
                report(f"{path.split('/')[2]} {target} cached", warm)


if __name__ == "__main__":
    main()
