"""Headline cleaning, content hashing, and the text the parser reads."""

from __future__ import annotations

import hashlib
import html
import re

__all__ = ["clean_headline", "content_hash", "parser_text"]

_BYTES_LITERAL = re.compile(r"""^b(['"])(.*)\1$""", re.DOTALL)
_ESCAPES = {"\\'": "'", '\\"': '"', "\\n": " ", "\\t": " ", "\\\\": "\\"}
_ESCAPE_RE = re.compile(r"""\\['"nt\\]""")
_SPACE = re.compile(r"\s+")


def clean_headline(raw: str) -> str:
    """Strip the bytes-literal artefact (b'...' / b"..."), unescape escapes and HTML entities."""
    text = raw.strip()
    match = _BYTES_LITERAL.match(text)
    if match:
        text = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], match.group(2))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def content_hash(text: str) -> str:
    """sha256 of the cleaned, case-folded, whitespace-normalised text."""
    normal = _SPACE.sub(" ", clean_headline(text)).casefold()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


# What a tweet carries besides its words. Each match is blanked or loses its sigil only, so the
# parser's text has the stored text's length and every offset into it is an offset into the
# stored text (events and links point into what the user posted).
# At the start, a chain of `RT @user:`, `RT user:` and bare `RT`; elsewhere (after a space or
# a quote) `RT @user` and `RT user:`.
_RETWEET = re.compile(
    r"^(?:\s*RT\b(?:\s+(?:@\w+\s*:?|\w+\s*:))?)+"
    r"|(?<=[\s\"“'])RT\s+(?:@\w+\s*:?|\w+\s*:)"
)
_URL = re.compile(r"(?:https?://|www\.)\S*")
_SIGIL = re.compile(r"(?<![\w$])[$#@]+(?=[A-Za-z])")
# A tweet's closing run of tags (cashtags, hashtags, mentions), URLs and ellipses.
_TAGS_AT_END = re.compile(r"(?:\s|[$#@]+[A-Za-z][\w.]*|https?://\S*|www\.\S*|…|\.\.\.|[-|:,])*$")


def parser_text(text: str) -> str:
    """The text handed to the parser: a retweet's `RT @user:` prefix, URLs (including
    truncated ones ending in an ellipsis) and the closing run of tags blanked out, and the
    sigils of the other cashtags, hashtags and mentions dropped (`$AAPL falls` reads
    `AAPL falls`, `.@Boeing wins` reads `Boeing wins`), each replaced by spaces of the same
    length so that offsets into the result are offsets into `text`. Money (`$5`) is left
    alone, and so is a text that is nothing but tags."""

    def blank(match: re.Match[str]) -> str:
        return " " * len(match.group())

    out = _RETWEET.sub(blank, text)
    tail = _TAGS_AT_END.search(out)
    if tail is not None and tail.start() > 0 and out[: tail.start()].strip():
        out = out[: tail.start()] + " " * (len(out) - tail.start())
    return _SIGIL.sub(blank, _URL.sub(blank, out))
