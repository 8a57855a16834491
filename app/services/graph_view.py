"""The explanation graph: events, their entities, and knowledge-graph paths between entities.

The JSON shape is Cytoscape.js "elements" (each node and edge an object with a `data` dict),
so a front end can draw it directly:

    {"nodes": [{"data": {"id": "event:17", "kind": "event", "label": ..., "effect": ...,
                         "group": 0}},
               {"data": {"id": "Q145", "kind": "entity", "label": "United Kingdom",
                         "description": ..., "group": 0}}],
     "edges": [{"data": {"id": ..., "source": "event:17", "target": "Q145",
                         "kind": "mentions", "label": "subject"}},
               {"data": {"id": ..., "source": "Q145", "target": "Q458", "kind": "relation",
                         "relation": "P463", "label": "member of"}}]}

Groups are the connected components of the entities under those paths (up to `max_hops`
hops in the local Wikidata graph); an event takes the group of its entities, so events
the graph connects share a colour, as in the paper's figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import networkx as nx

__all__ = ["GraphEvent", "build_explanation_graph"]


@dataclass
class GraphEvent:
    id: int
    label: str
    effect: float
    entities: list[tuple[str, str]]  # (entity id, role)


def build_explanation_graph(
    events: Sequence[GraphEvent], kg: Any, *, max_hops: int = 3
) -> tuple[dict[str, list[dict[str, Any]]], dict[int, int | None]]:
    """Return (cytoscape elements, event id -> group id or None)."""
    entity_ids = sorted({qid for ev in events for qid, _ in ev.entities})
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[str, dict[str, Any]] = {}
    components = nx.Graph()
    components.add_nodes_from(entity_ids)

    for a, b in combinations(entity_ids, 2):
        path = kg.shortest_path(a, b, max_hops=max_hops)
        if not path:
            continue
        for head, relation, tail in path:
            for qid in (head, tail):
                components.add_node(qid)
            components.add_edge(head, tail)
            key = f"{head}|{relation}|{tail}"
            edges[key] = {
                "data": {
                    "id": key,
                    "source": head,
                    "target": tail,
                    "kind": "relation",
                    "relation": relation,
                    "label": kg.relation_name(relation) or relation,
                }
            }
    group_of: dict[str, int] = {}
    for index, component in enumerate(
        sorted(nx.connected_components(components), key=lambda c: (-len(c), min(c)))
    ):
        if len(component) > 1:
            for qid in component:
                group_of[qid] = index
    for qid in components.nodes:
        nodes[qid] = {
            "data": {
                "id": qid,
                "kind": "entity",
                "label": kg.label(qid) or qid,
                "description": kg.description(qid) or "",
                "group": group_of.get(qid),
                "linked": qid in entity_ids,
            }
        }
    event_groups: dict[int, int | None] = {}
    for ev in events:
        groups = [group_of[qid] for qid, _ in ev.entities if qid in group_of]
        event_groups[ev.id] = min(groups) if groups else None
        node_id = f"event:{ev.id}"
        nodes[node_id] = {
            "data": {
                "id": node_id,
                "kind": "event",
                "label": ev.label,
                "effect": ev.effect,
                "group": event_groups[ev.id],
            }
        }
        for qid, role in ev.entities:
            key = f"{node_id}|{role}|{qid}"
            edges[key] = {
                "data": {
                    "id": key,
                    "source": node_id,
                    "target": qid,
                    "kind": "mentions",
                    "label": role,
                }
            }
    return {"nodes": list(nodes.values()), "edges": list(edges.values())}, event_groups
