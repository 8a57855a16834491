"""The explanation graph's links between events (app.services.graph_view._links) against the
plain walk they replace: every pair of events, then their entities in order, each pair of
entities linked once, from where the walk first meets it."""

from __future__ import annotations

import random
from itertools import combinations

from app.services.graph_view import GraphEvent, _links


class _OrientedGraph:
    """A stand-in for kg.graph.KnowledgeGraph.link that records its calls: a path exists for
    some pairs only, and it names the direction asked, so a swapped call gives another path."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def link(self, a: str, b: str, *, max_hops: int) -> list[tuple[str, str, str]] | None:
        self.calls.append((a, b))
        if (int(a[1:]) + int(b[1:])) % 3 == 0:
            return None
        return [(a, f"P{max_hops}", b)]


def _walk(events: list[GraphEvent], kg: _OrientedGraph, *, max_hops: int) -> list:  # type: ignore[type-arg]
    out = []
    seen: set[tuple[str, str]] = set()
    for i, j in combinations(range(len(events)), 2):
        for a, _ in events[i].entities:
            for b, _ in events[j].entities:
                pair = (min(a, b), max(a, b))
                if a == b or pair in seen:
                    continue
                seen.add(pair)
                path = kg.link(a, b, max_hops=max_hops)
                if path:
                    out.append((i, j, path))
    return out


def test_links_equal_the_walk_over_every_pair_of_events() -> None:
    rng = random.Random(7)
    for trial in range(200):
        entities = [f"Q{k}" for k in range(rng.randint(1, 12))]
        events = [
            GraphEvent(
                id=n,
                label=f"event {n}",
                effect=0.0,
                # repeats within an event (an entity as subject and object) included
                entities=[(rng.choice(entities), "subject") for _ in range(rng.randint(0, 4))],
            )
            for n in range(rng.randint(0, 9))
        ]
        walked, linked = _OrientedGraph(), _OrientedGraph()
        expected = _walk(events, walked, max_hops=3)
        assert _links(events, linked, max_hops=3) == expected, trial
        # each pair asked once, in the direction the walk first met it
        assert sorted(linked.calls) == sorted(walked.calls), trial
