"""Throughput of extraction + linking relative to plain `nlp.pipe` (same pipeline, one process).

    .venv/bin/python benchmarks/bench_extract.py [N]

Prints headlines/s for both and their ratio (target >= 0.8, issue 12). Runs each twice, alternating,
and keeps the faster run of each, to damp noise from the other core.
"""

from __future__ import annotations

import csv
import gzip
import sys
import time
from pathlib import Path

from kg.pipeline import EventPipeline
from kg.text import clean_headline

ROOT = Path(__file__).resolve().parent.parent


def headlines(n: int) -> list[str]:
    out = []
    with gzip.open(
        ROOT / "data/djia_reddit/RedditNews.csv.gz", "rt", encoding="utf-8", newline=""
    ) as fh:
        for row in csv.DictReader(fh):
            text = clean_headline(row["News"])
            if text:
                out.append(text)
            if len(out) == n:
                break
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    texts = headlines(n)
    pipeline = EventPipeline.load(data_dir=ROOT / "data")
    list(pipeline.nlp.pipe(texts[:200]))  # warm-up
    plain, full = [], []
    for _ in range(2):
        started = time.perf_counter()
        for _doc in pipeline.nlp.pipe(texts, batch_size=256):
            pass
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        results = pipeline.process(texts)
        full.append(time.perf_counter() - started)
    n_events = sum(len(r) for r in results)
    n_linked = sum(1 for r in results for _, links in r if links)
    with_event = sum(1 for r in results if r)
    print(
        f"headlines: {len(texts)}, with >=1 event: {with_event / len(texts):.1%}, "
        f"events: {n_events}, events with >=1 linked entity: {n_linked / max(1, n_events):.1%}"
    )
    print(f"nlp.pipe only:        {len(texts) / min(plain):8.0f} headlines/s")
    print(f"extraction + linking: {len(texts) / min(full):8.0f} headlines/s")
    print(f"ratio: {min(plain) / min(full):.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
