"""Repeat the fault probes of issue 8 against a running server and print what came back.

    .venv/bin/python benchmarks/probe_faults.py http://127.0.0.1:8000 --rounds 3

Each round: 8 clients post the same 2,000 headlines at once, each in its own order and batch
size (the probe that used to deadlock on PostgreSQL), then hostile inputs (NUL, a lone
surrogate, ANSI escapes, volume 2^63, a 50 MB unauthenticated body) on one keep-alive
connection. Prints status counts, connection resets, and whether the headlines table holds
exactly the distinct headlines posted (nothing lost, nothing duplicated). Writes real rows:
point it at a scratch database. Bounded: rounds x (8 clients x <= 40 requests + 6 probes).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

SIZES = [50, 100, 125, 250, 333, 500, 1000, 2000]
WORDS = ["France", "China", "Russia", "Brazil", "India", "Japan", "Germany", "Iran"]


def headlines(round_no: int, n: int = 2000) -> list[dict]:
    return [
        {
            "date": f"2015-{1 + i // 250:02d}-{1 + i % 25:02d}",
            "rank": i % 25 + 1,
            "text": f"{WORDS[i % 8]} probe {round_no}-{i} on trade with {WORDS[i * 3 % 8]}",
        }
        for i in range(n)
    ]


def writers(base: str, items: list[dict]) -> tuple[Counter, int, int]:
    def client(k: int) -> list[tuple[str, int]]:
        order = items[:]
        random.Random(k).shuffle(order)
        out = []
        with httpx.Client(base_url=base, timeout=600) as c:
            for i in range(0, len(order), SIZES[k]):
                try:
                    r = c.post("/v1/headlines", json={"items": order[i : i + SIZES[k]]})
                    out.append((str(r.status_code), r.json()["inserted"] if r.is_success else 0))
                except httpx.TransportError as exc:
                    out.append((type(exc).__name__, 0))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [r for rs in pool.map(client, range(8)) for r in rs]
    statuses = Counter(s for s, _ in results)
    return statuses, sum(n for _, n in results), len(results)


def hostile(base: str) -> Counter:
    bodies = {
        "NUL": '{"items":[{"date":"2016-06-24","text":"a\\u0000b"}]}',
        "surrogate": '{"items":[{"date":"2016-06-24","text":"a\\ud800b"}]}',
        "ANSI": '{"items":[{"date":"2016-06-24","text":"\\u001b[31mred"}]}',
    }
    out: Counter = Counter()
    with httpx.Client(base_url=base, timeout=60) as c:
        for name, body in bodies.items():
            r = c.post("/v1/headlines", content=body, headers={"content-type": "application/json"})
            out[f"{name} {r.status_code}"] += 1
        bar = {"date": "2016-06-24", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 2**63}
        r = c.post("/v1/prices", json={"symbol": "PROBE", "items": [bar]})
        out[f"volume 2^63 {r.status_code}"] += 1
        big = json.dumps({"items": [{"date": "2016-06-24", "text": "x" * 999}] * 52_000})
        try:
            r = c.post("/v1/headlines", content=big, headers={"content-type": "application/json"})
            out[f"50 MB body {r.status_code}"] += 1
        except httpx.TransportError as exc:
            out[f"50 MB body {type(exc).__name__}"] += 1
        r = c.get("/healthz")
        out[f"healthz after {r.status_code}"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    for round_no in range(args.rounds):
        items = headlines(round_no)
        started = time.perf_counter()
        statuses, inserted, n = writers(base, items)
        seconds = time.perf_counter() - started
        days = sorted({h["date"] for h in items})
        with httpx.Client(base_url=base, timeout=60) as c:
            stored = sum(
                sum(
                    1
                    for h in c.get("/v1/events", params={"date": d}).json()["headlines"]
                    if f"probe {round_no}-" in h["text"]
                )
                for d in days
            )
        print(
            f"round {round_no}: {n} requests in {seconds:.1f} s, statuses {dict(statuses)}, "
            f"inserted {inserted} of {len(items)}, stored {stored} (lost {len(items) - stored}, "
            f"duplicated {max(0, stored - len(items))})"
        )
        print(f"  hostile inputs: {dict(hostile(base))}")


if __name__ == "__main__":
    main()
