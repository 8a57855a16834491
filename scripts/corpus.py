"""The text the corpus builders count (scripts/build_common_words.py and
scripts/build_tag_shares.py): RedditNews headlines dated up to the end of the demo's
training period, cleaned, without the headlines of either gold set."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg.gold import GOLD_SETS  # noqa: E402
from kg.text import clean_headline, content_hash  # noqa: E402

# Counted on training-period text only, so no statistic of the pipeline reads the test days.
TRAINING_END = "2014-12-31"


def training_headlines() -> Iterator[str]:
    """Each cleaned RedditNews headline dated up to TRAINING_END that no gold set holds."""
    skip = set()
    for path in GOLD_SETS.values():
        for line in (ROOT / path).read_text("utf-8").splitlines():
            if line:
                skip.add(content_hash(json.loads(line)["text"]))
    path = ROOT / "data/djia_reddit/RedditNews.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = clean_headline(row["News"])
            if row["Date"] <= TRAINING_END and text and content_hash(text) not in skip:
                yield text
