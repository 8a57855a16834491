"""How often the tagger reads a word as a verb or a noun over the headline corpus.

Headlines pile nouns up ("Turkish court scraps plan to redevelop Taksim Square"), and the
small English model often shifts the verb one word to the right: "scraps" becomes a plural
noun subject and "plan" the verb. Which reading is right is a property of the words: over
the whole corpus, "scraps", "rejects" or "vetoes" are often read as verbs and "plan",
"deal" or "decree" mostly as nouns, while "images show" or "rebels leave" are never in
doubt. kg/tag_shares.txt.gz holds, for each word seen at least twice in
data/djia_reddit/RedditNews.csv.gz (the headlines of both gold sets left out, as for
kg/common_words.txt.gz; only the tagger's tags are counted, no annotation), the share of
its occurrences tagged VBZ and the share tagged as a noun, when either is worth keeping
(an -s form read as VBZ at least 10% of the time; a word read as a noun at least 20% of
the time). Rebuild with ``python -m kg.tag_shares`` (about 2 minutes).
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

__all__ = ["vbz_share", "noun_share", "build"]

_FILE = "tag_shares.txt.gz"
_NOUN_TAGS = {"NN", "NNS", "NNP", "NNPS"}


@cache
def _table() -> dict[str, tuple[float, float]]:
    with resources.files("kg").joinpath(_FILE).open("rb") as fh:
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


def build() -> None:  # pragma: no cover - a build step, run by hand
    import csv
    import json
    from collections import Counter, defaultdict
    from pathlib import Path

    import spacy

    from kg.extract import MODEL_NAME
    from kg.text import clean_headline, content_hash

    root = Path(__file__).resolve().parent.parent
    skip = set()
    for name in ("events_gold.jsonl", "events_blind.jsonl"):
        for line in (root / "tests/gold" / name).read_text("utf-8").splitlines():
            if line:
                skip.add(content_hash(json.loads(line)["text"]))
    texts = set()
    path = root / "data/djia_reddit/RedditNews.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = clean_headline(row["News"])
            if text and content_hash(text) not in skip:
                texts.add(text)
    nlp = spacy.load(MODEL_NAME, exclude=["ner", "parser", "lemmatizer"])
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for doc in nlp.pipe(sorted(texts), batch_size=512):
        for token in doc:
            if token.is_alpha:
                counts[token.lower_][token.tag_] += 1
    rows = []
    for word, tags in sorted(counts.items()):
        n = sum(tags.values())
        if n < 2:
            continue
        vbz = tags["VBZ"] / n
        noun = sum(tags[t] for t in _NOUN_TAGS) / n
        if (word.endswith("s") and vbz >= 0.1) or noun >= 0.2:
            rows.append(f"{word}\t{vbz:.2f}\t{noun:.2f}")
    data = ("\n".join(rows) + "\n").encode("utf-8")
    out = root / "kg" / _FILE
    out.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{len(rows)} words from {len(texts)} headlines -> {out.relative_to(root)}")


if __name__ == "__main__":  # pragma: no cover
    build()
