"""Build kg/common_words.txt.gz: words that headlines usually write in lower case.

    python scripts/build_common_words.py

Used to lower-case Title Case headlines before parsing (kg.truecase). Counted over the
sentence-case headlines of data/djia_reddit/RedditNews.csv.gz dated up to the end of the
demo's training period, 2014-12-31 (not Title Case, not
counting each headline's first word or a word after ":" or "."), leaving out the headlines
of both gold sets: a word is common when it is seen at least twice in lower case and at
least as often in lower case as capitalised. Only word case is counted, no annotation.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.text import clean_headline, content_hash  # noqa: E402
from kg.truecase import WORD, is_title_case  # noqa: E402

OUT = ROOT / "kg/common_words.txt.gz"
# Counted on training-period text only, so no statistic of the pipeline reads the test days.
TRAINING_END = "2014-12-31"


def main() -> None:
    skip = set()
    for name in ("events_gold.jsonl", "events_blind.jsonl"):
        for line in (ROOT / "tests/gold" / name).read_text("utf-8").splitlines():
            if line:
                skip.add(content_hash(json.loads(line)["text"]))
    lower: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    path = ROOT / "data/djia_reddit/RedditNews.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = clean_headline(row["News"])
            if row["Date"] > TRAINING_END:  # training-period text only
                continue
            if not text or is_title_case(text) or content_hash(text) in skip:
                continue
            previous_end = None
            for match in WORD.finditer(text):
                word = match.group(0)
                gap = text[previous_end : match.start()] if previous_end is not None else ":"
                previous_end = match.end()
                if any(c in gap for c in ":.!?\"'|(-") or not word.isalpha():
                    continue
                if word.islower():
                    lower[word] += 1
                elif word[0].isupper() and not word.isupper():
                    upper[word.lower()] += 1
    common = sorted(w for w, n in lower.items() if n >= 2 and n >= upper[w])
    data = ("\n".join(common) + "\n").encode("utf-8")
    OUT.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{len(common)} common words -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
