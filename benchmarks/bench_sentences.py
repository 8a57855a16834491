"""Throughput of the sentence text channel: MiniLM encoding and VADER, on 2 threads.

    .venv/bin/python benchmarks/bench_sentences.py [N]

Encodes the first N (default 2,000) RedditNews headlines (cleaned as stored) with
all-MiniLM-L6-v2 (batch 64, no cache) and scores them with VADER; prints headlines/s of each
and the projected time for every stored headline of the bundled data set and for those of
rank <= 10 only. Stored headlines are counted as the importer stores them: both files through
`app.importer._headline_rows` (Combined first, rank = order within a date), one per
(date, content hash). Prints figures only; no thresholds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from bench_extract import headlines  # the same RedditNews sample (this folder)

from app.importer import _headline_rows
from kg.text import clean_headline, content_hash
from models.text.sentences import SentenceEncoder, vader_features

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data/djia_reddit"


def stored_ranks() -> list[int]:
    seen: set[tuple[str, str]] = set()
    ranks: list[int] = []
    for date, rank, raw in _headline_rows(DATA):
        if not clean_headline(raw):
            continue
        key = (date, content_hash(raw))
        if key not in seen:
            seen.add(key)
            ranks.append(rank)
    return ranks


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    torch.set_num_threads(2)
    texts = headlines(n)
    ranks = stored_ranks()
    n_all, n_top10 = len(ranks), sum(r <= 10 for r in ranks)

    t0 = time.perf_counter()
    encoder = SentenceEncoder(batch_size=64)
    encoder.encode(texts[:64])  # load + warm-up, not timed below
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    vectors = encoder.encode(texts)
    enc_s = time.perf_counter() - t0
    enc_rate = len(texts) / enc_s

    vader_features(texts[:10])  # lexicon load
    t0 = time.perf_counter()
    vader_features(texts)
    vad_s = time.perf_counter() - t0
    vad_rate = len(texts) / vad_s

    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"sample: {len(texts)} RedditNews headlines, {words:.1f} words on average")
    print(f"torch threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"model load + warm-up: {load_s:.1f} s")
    print(f"MiniLM encode: {enc_s:.1f} s, {enc_rate:.0f} headlines/s, shape {vectors.shape}")
    print(f"VADER: {vad_s:.2f} s, {vad_rate:.0f} headlines/s")
    print(f"stored headlines: {n_all}, of rank <= 10: {n_top10}")
    for label, count in (("all", n_all), ("rank <= 10", n_top10)):
        print(
            f"projected {label} ({count}): MiniLM {count / enc_rate / 60:.1f} min, "
            f"VADER {count / vad_rate:.0f} s"
        )


if __name__ == "__main__":
    main()
