"""How often the tagger reads a word as a verb or a noun over the headline corpus.

Headlines pile nouns up ("Turkish court scraps plan to redevelop Taksim Square"), and the
small English model often shifts the verb one word to the right: "scraps" becomes a plural
noun subject and "plan" the verb. Which reading is right is a property of the words: over
the whole corpus, "scraps", "rejects" or "vetoes" are often read as verbs and "plan",
"deal" or "decree" mostly as nouns, while "images show" or "rebels leave" are never in
doubt. kg/tag_shares.txt.gz holds, for each word seen at least twice in the headlines of
data/djia_reddit/RedditNews.csv.gz dated up to the end of the demo's training period
(2014-12-31; the headlines of both gold sets left out, as for kg/common_words.txt.gz; only
the tagger's tags are counted, no annotation), the share of
its occurrences tagged VBZ and the share tagged as a noun, when either is worth keeping
(an -s form read as VBZ at least 10% of the time; a word read as a noun at least 20% of
the time). Rebuild with ``python scripts/build_tag_shares.py`` (about 2 minutes).
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

__all__ = ["NOUN_TAGS", "TAG_SHARES_FILE", "vbz_share", "noun_share"]

TAG_SHARES_FILE = "tag_shares.txt.gz"
NOUN_TAGS = {"NN", "NNS", "NNP", "NNPS"}


@cache
def _table() -> dict[str, tuple[float, float]]:
    with resources.files("kg").joinpath(TAG_SHARES_FILE).open("rb") as fh:
        lines = gzip.decompress(fh.read()).decode("utf-8").splitlines()
    out = {}
    for line in lines:
        word, vbz, noun = line.split("\t")
        out[word] = (float(vbz), float(noun))
    return out


def vbz_share(word: str) -> float:
    """Share of the corpus occurrences of this (lower-cased) word tagged VBZ; 0 if unseen."""
    return _table().get(word, (0.0, 0.0))[0]


def noun_share(word: str) -> float:
    """Share of the corpus occurrences of this (lower-cased) word tagged as a noun."""
    return _table().get(word, (0.0, 0.0))[1]
