"""Throughput of a cached prediction against /healthz, in the same run, over HTTP.

    .venv/bin/python benchmarks/bench_throughput.py                # starts its own service
    .venv/bin/python benchmarks/bench_throughput.py http://127.0.0.1:8000   # a running one

Without a URL it starts the service in its own process (`kdtcn serve --no-bootstrap`,
settings from the environment, after a first start), so the client does not share its
interpreter, and stops it at the end. The load: CLIENTS threads, each with its own keep-alive
connection, send a bounded number of requests (ROUNDS rounds of REQUESTS each, /healthz and
the cached prediction taking turns, so both see the same machine); the prediction is asked
once before (so later ones are cache hits, which the body's `cached` confirms). Prints
requests per second per round, the medians and their ratio (the aim: 0.8 or more).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.liveserver import service_process  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PREDICTION = ("/v1/predictions/DJIA", {"date": "2016-06-24", "target": "next_day"})


def rate(base: str, path: str, params: dict[str, str]) -> float:
    """Requests per second of REQUESTS requests to `path` from CLIENTS threads."""
    per_client = REQUESTS // CLIENTS
    errors: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(per_client):
                resp = http.get(path, params=params)
                if resp.status_code != 200:
                    errors.append(f"{resp.status_code} {resp.text[:200]}")
                    return

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{path}: {errors[0]}")
    return per_client * CLIENTS / elapsed


def measure(base: str) -> float:
    """Print the rounds and the medians; return cached / healthz."""
    path, params = PREDICTION
    first = httpx.get(base + path, params=params, timeout=300)
    first.raise_for_status()
    again = httpx.get(base + path, params=params, timeout=60).json()
    assert again["cached"] is True, "the second request was not a cache hit"
    health, cached = [], []
    for k in range(ROUNDS):
        health.append(rate(base, "/healthz", {}))
        cached.append(rate(base, path, params))
        print(f"round {k + 1}: /healthz {health[-1]:6.0f} req/s, cached {cached[-1]:6.0f} req/s")
    ratio = statistics.median(cached) / statistics.median(health)
    print(
        f"{CLIENTS} clients x {REQUESTS // CLIENTS} requests per round: /healthz median "
        f"{statistics.median(health):.0f} req/s, cached prediction median "
        f"{statistics.median(cached):.0f} req/s: {ratio:.2f}x"
    )
    return ratio


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else None
    with nullcontext(None) if url else service_process() as client:
        base = url or str(client.base_url).rstrip("/")
        measure(base)


if __name__ == "__main__":
    main()
