"""Lower-casing Title Case headlines before parsing.

spaCy's small English model reads "Egyptian Court Declares Internet Porn Illegal" as one
long proper noun. For a headline in Title Case (most of its longer words capitalised), the
capitalised words that headlines usually write in lower case (kg/common_words.txt.gz, built
by scripts/build_common_words.py from word case counts in sentence-case headlines) are
lower-cased; names, acronyms and the first word of each part (after ":", ".", "-", quotes)
keep their case. The result has the same length as the input, so character offsets into
the parsed text are offsets into the original headline.
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from importlib import resources

__all__ = ["WORD", "is_title_case", "lower_title_case", "common_words"]

WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SMALL = {"a", "an", "the", "of", "to", "in", "on", "at", "for", "and", "or", "by", "as", "is"}
_BREAK = re.compile(r"[:;.!?\"|(\[]|\s[-–—]\s|'\s*$|^\s*'")


@cache
def common_words() -> frozenset[str]:
    """The lower-case words that headlines usually write in lower case
    (kg/common_words.txt.gz), read once."""
    with resources.files("kg").joinpath("common_words.txt.gz").open("rb") as fh:
        return frozenset(gzip.decompress(fh.read()).decode("utf-8").split())


def is_title_case(text: str) -> bool:
    """At least three words of 4+ letters, and 80% of them (and all but one) capitalised."""
    words = [w for w in WORD.findall(text) if len(w) >= 4 and w.lower() not in _SMALL]
    if len(words) < 3:
        return False
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised >= 0.8 * len(words) and capitalised >= len(words) - 1


def lower_title_case(text: str, common: frozenset[str] | None = None, *, check: bool = True) -> str:
    """The headline with its common words lower-cased when it is in Title Case, else as is
    (``check=False``: the caller has already found it in Title Case)."""
    if check and not is_title_case(text):
        return text
    common = common_words() if common is None else common
    out = list(text)
    previous_end = 0
    first = True
    for match in WORD.finditer(text):
        word = match.group(0)
        gap = text[previous_end : match.start()]
        previous_end = match.end()
        starts_part = first or bool(_BREAK.search(gap))
        first = False
        if starts_part or word.isupper() or not word[0].isupper():
            continue
        lowered = word.lower()
        base = lowered.split("-")[0].removesuffix("'s").removesuffix("’s")
        if len(lowered) == len(word) and (lowered in common or base in common):
            out[match.start() : match.end()] = lowered
    return "".join(out)
