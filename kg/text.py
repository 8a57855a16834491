"""Headline cleaning and content hashing."""

from __future__ import annotations

import hashlib
import html
import re

__all__ = ["clean_headline", "content_hash"]

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
