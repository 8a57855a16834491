"""The knowledge pipeline as one object: parse -> events -> linked entities.

Loaded once (in the FastAPI lifespan or a CLI command) and passed in; never at import time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from kg.types import EntityLink, Event, Phrase

__all__ = ["EventPipeline", "PIPELINE_VERSION", "restore_spans"]

log = logging.getLogger(__name__)

# Bump when extraction or linking rules change: stored headlines are then re-processed.
PIPELINE_VERSION = "ev5"  # ev5: the graph leaves out Wikimedia's own pages (kg.graph)


class EventPipeline:
    """spaCy parse + rule-based event extraction + entity linking to the local graph.

    `nlp`: the spaCy pipeline; `extractor`: a `kg.extract.EventExtractor` over it; `linker`:
    a `kg.link.EntityLinker`; `graph`: the `kg.graph.KnowledgeGraph` it links to.
    """

    version = PIPELINE_VERSION

    def __init__(self, *, nlp: Any, extractor: Any, linker: Any, graph: Any) -> None:
        """Hold the loaded parts (see the class docstring); nothing is loaded here."""
        self.nlp = nlp
        self.extractor = extractor
        self.linker = linker
        self.graph = graph

    @classmethod
    def load(cls, *, data_dir: Path) -> EventPipeline:
        """Load the bundled spaCy model (without NER) and the WD40k graph from
        `data_dir`/wd40k, and build the extractor and the linker over them."""
        from kg.extract import EventExtractor, load_nlp
        from kg.graph import KnowledgeGraph
        from kg.link import EntityLinker

        started = time.perf_counter()
        nlp = load_nlp()
        graph = KnowledgeGraph.load(Path(data_dir) / "wd40k")
        linker = EntityLinker(graph)
        log.info("knowledge pipeline loaded in %.1f s", time.perf_counter() - started)
        return cls(nlp=nlp, extractor=EventExtractor(nlp), linker=linker, graph=graph)

    def process(
        self, texts: Sequence[str], *, batch_size: int = 256
    ) -> list[list[tuple[Event, list[EntityLink]]]]:
        """For each text, its events, each with its entities: those linked in its subject
        and object phrases (role "subject"/"object"), then the other entities the headline
        names (role "headline", context for the event: "UK pound falls after Brexit vote")."""
        out: list[list[tuple[Event, list[EntityLink]]]] = []
        docs = self.extractor.parse(texts, batch_size=batch_size)
        for text, doc in zip(texts, docs, strict=True):
            events = self.extractor.extract_doc(doc)
            if not events:
                out.append([])
                continue
            in_headline = self.linker.link_text(text)
            linked = []
            for ev in events:
                own = self.linker.link_events(text, [ev])
                spans = [(x.start, x.end) for x in own]
                rest = [
                    replace(x, role="headline")
                    for x in in_headline
                    if all(x.end <= s or x.start >= e for s, e in spans)
                ]
                linked.append((ev, own + rest))
            out.append(linked)
        return out


def restore_spans(
    original: str, parsed: str, extracted: list[tuple[Event, list[EntityLink]]]
) -> list[tuple[Event, list[EntityLink]]]:
    """`extracted` from `parsed`, the text the parser read in place of `original`
    (kg.text.parser_text: same length, offsets unchanged), with every phrase trimmed of the
    blanks at its ends and its text taken from `original` again, so a stored event's phrase
    is the stored text's span ("the  AAPL fans" is stored as "the $AAPL fans")."""

    def phrase(p: Phrase) -> Phrase:
        start, end = p.start, p.end
        while start < end and parsed[start].isspace():
            start += 1
        while end > start and parsed[end - 1].isspace():
            end -= 1
        return replace(p, text=original[start:end], start=start, end=end)

    return [
        (
            replace(
                ev,
                subject=phrase(ev.subject),
                predicate=phrase(ev.predicate),
                object=phrase(ev.object) if ev.object is not None else None,
            ),
            [replace(x, mention=original[x.start : x.end]) for x in links],
        )
        for ev, links in extracted
    ]
