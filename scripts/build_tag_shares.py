"""Build kg/tag_shares.txt.gz (see kg.tag_shares): how often the tagger reads each word as a
verb (VBZ) or a noun over the RedditNews headlines dated up to the end of the demo's
training period (TRAINING_END), the headlines of both gold sets left out. Run by hand when
the tagger or the corpus changes: `.venv/bin/python scripts/build_tag_shares.py`."""

from __future__ import annotations

import gzip
from collections import Counter, defaultdict

from corpus import ROOT, TRAINING_END, training_headlines

from kg.extract import MODEL_NAME
from kg.tag_shares import NOUN_TAGS, TAG_SHARES_FILE


def main() -> None:
    import spacy

    texts = set(training_headlines())
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
        noun = sum(tags[t] for t in NOUN_TAGS) / n
        if (word.endswith("s") and vbz >= 0.1) or noun >= 0.2:
            rows.append(f"{word}\t{vbz:.2f}\t{noun:.2f}")
    data = ("\n".join(rows) + "\n").encode("utf-8")
    out = ROOT / "kg" / TAG_SHARES_FILE
    out.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{len(rows)} words from {len(texts)} headlines up to {TRAINING_END} -> {out}")


if __name__ == "__main__":
    main()
