"""Reproduce the draw of the blind gold set (tests/gold/events_blind.jsonl).

    python scripts/draw_blind_gold.py            # print the drawn headlines as JSONL skeletons
    python scripts/draw_blind_gold.py --check    # verify events_blind.jsonl holds exactly them

Procedure: every Top1..Top25 cell of data/djia_reddit/Combined_News_DJIA.csv.gz, cleaned
with kg.text.clean_headline, 25 to 110 characters long, from a date that
tests/gold/events_gold.jsonl does not use, and whose text (content hash) is not in that set;
in file order (date, then Top1..Top25), without repeats of the same text; then
random.Random(SEED).sample(candidates, N). Annotations are added by hand afterwards.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.text import clean_headline, content_hash  # noqa: E402

SEED = 12  # issue 12
N = 150
MIN_LEN, MAX_LEN = 25, 110
TUNED = ROOT / "tests/gold/events_gold.jsonl"
BLIND = ROOT / "tests/gold/events_blind.jsonl"


def draw() -> list[dict]:
    tuned = [json.loads(line) for line in TUNED.read_text("utf-8").splitlines() if line]
    used_dates = {g["date"] for g in tuned}
    seen = {content_hash(g["text"]) for g in tuned}
    candidates = []
    path = ROOT / "data/djia_reddit/Combined_News_DJIA.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Date"] in used_dates:
                continue
            for k in range(1, 26):
                text = clean_headline(row.get(f"Top{k}") or "")
                key = content_hash(text)
                if MIN_LEN <= len(text) <= MAX_LEN and key not in seen:
                    seen.add(key)
                    candidates.append((row["Date"], text))
    picked = random.Random(SEED).sample(candidates, N)
    return [{"id": i, "date": d, "text": t} for i, (d, t) in enumerate(picked)]


def main() -> None:
    drawn = draw()
    if "--check" in sys.argv:
        blind = [json.loads(line) for line in BLIND.read_text("utf-8").splitlines() if line]
        got = [(b["id"], b["date"], b["text"]) for b in blind]
        want = [(d["id"], d["date"], d["text"]) for d in drawn]
        if got != want:
            sys.exit("events_blind.jsonl does not match the recorded draw")
        print(f"ok: {len(blind)} headlines match the draw (seed {SEED})")
        return
    for item in drawn:
        print(json.dumps({**item, "tuples": [], "entities": []}, ensure_ascii=False))


if __name__ == "__main__":
    main()
