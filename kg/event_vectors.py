"""Events as graph triples, and event vectors built from KG embeddings.

An event (subject, predicate, object) becomes the triple
(subject node, "pred:" + predicate lemma, object node), where a node is the Wikidata id the
phrase was linked to, else "w:" + the phrase's head lemma ("w:police"). Events without an
object give no triple (an intransitive "Pound drops" has no second node to relate); they
still get a vector from `EventEmbedder`, with the object channel zero and masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from kg.kge_artifact import KGEmbeddings
from kg.types import EntityLink, Event

__all__ = ["Triple", "event_nodes", "event_triples", "EventEmbedder"]

Triple = tuple[str, str, str]


def event_nodes(event: Event, links: Iterable[EntityLink]) -> tuple[str, str, str | None]:
    """(subject node, relation, object node): a node is the first linked entity of that role,
    else "w:" + the phrase's head lemma; the relation is "pred:" + the predicate lemma.
    The object node is None when the event has no object."""
    by_role: dict[str, str] = {}
    for link in links:
        by_role.setdefault(link.role, link.entity_id)
    subject = by_role.get("subject") or f"w:{event.subject.head}"
    obj = None
    if event.object is not None:
        obj = by_role.get("object") or f"w:{event.object.head}"
    return subject, f"pred:{event.predicate.head}", obj


def event_triples(events: Iterable[tuple[Event, list[EntityLink]]]) -> list[Triple]:
    """Training triples of (event, its links) pairs; an event without an object is skipped."""
    out = []
    for event, links in events:
        subject, relation, obj = event_nodes(event, links)
        if obj is not None:
            out.append((subject, relation, obj))
    return out


class EventEmbedder:
    """Multi-channel event vector, after the paper's "multi-channel concatenation".

    For KG embeddings of width d the vector has `dim` = 4 d + 4 float32 entries:

    ====================  =================================================================
    [0, d)                subject node embedding (linked Q-id, else the "w:<lemma>" node)
    [d, 2d)               predicate relation embedding ("pred:<lemma>")
    [2d, 3d)              object node embedding
    [3d, 4d)              context: mean embedding of the graph neighbours of the event's
                          linked entities (up to `max_neighbours` per entity, all roles,
                          including the "headline" context links), i.e. what the graph
                          knows around the event
    [4d, 4d+4)            mask bits, 1.0 when the channel above is present
    ====================  =================================================================

    A part without a trained vector (unseen node, no object, no graph given, no linked
    entity with embedded neighbours) is zeros with mask 0. Without a graph (the ablation
    trained without the KG) the context channel is always zero.
    """

    def __init__(
        self, embeddings: KGEmbeddings, *, graph: Any | None = None, max_neighbours: int = 50
    ) -> None:
        """Embed with `embeddings`; `graph` (a kg.graph.KnowledgeGraph, or None for the
        ablation) gives the context channel its neighbours."""
        self.emb = embeddings
        self.graph = graph
        self.max_neighbours = max_neighbours
        self._context_cache: dict[str, np.ndarray | None] = {}

    @property
    def dim(self) -> int:
        """Length of an event vector: 4 channels of the embedding width plus 4 mask bits."""
        return 4 * self.emb.dim + 4

    def _context(self, qid: str) -> np.ndarray | None:
        if qid not in self._context_cache:
            vecs = []
            if self.graph is not None:
                for _, neighbour, _ in self.graph.neighbours(qid)[: self.max_neighbours]:
                    vec = self.emb.entity(neighbour)
                    if vec is not None:
                        vecs.append(vec)
            self._context_cache[qid] = np.mean(vecs, axis=0) if vecs else None
        return self._context_cache[qid]

    def embed(self, event: Event, links: list[EntityLink]) -> np.ndarray:
        """The (dim,) float32 vector of one event given the links of its headline."""
        d = self.emb.dim
        out = np.zeros(self.dim, dtype=np.float32)
        subject, relation, obj = event_nodes(event, links)
        parts = [
            self.emb.entity(subject),
            self.emb.relation(relation),
            self.emb.entity(obj) if obj else None,
        ]
        contexts = [c for c in (self._context(x.entity_id) for x in links) if c is not None]
        parts.append(np.mean(contexts, axis=0) if contexts else None)
        for k, vec in enumerate(parts):
            if vec is not None:
                out[k * d : (k + 1) * d] = vec
                out[4 * d + k] = 1.0
        return out
