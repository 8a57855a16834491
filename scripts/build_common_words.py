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

import gzip
from collections import Counter

from corpus import ROOT, training_headlines

from kg.truecase import WORD, is_title_case

OUT = ROOT / "kg/common_words.txt.gz"


def main() -> None:
    lower: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    for text in training_headlines():
        if is_title_case(text):
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
