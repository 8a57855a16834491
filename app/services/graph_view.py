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

Paths join entities of different events: up to `max_hops` hops in the local Wikidata graph,
never through a hub entity (kg.graph.HUB_DEGREE: a country such as the US, "human"), though
a hub may be an event's own entity and a direct fact links any two. Groups are the
connected components of the entities under those paths; an event takes the group of its
entities, so events the graph connects share a colour, as in the paper's figure. By default
an explanation draws a summary within a node budget (see `build_explanation_graph`).
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
    """An event to draw: its id, label, effect on the answer and linked entities."""

    id: int
    label: str
    effect: float
    entities: list[tuple[str, str]]  # (entity id, role)


def _links(
    events: Sequence[GraphEvent], kg: Any, *, max_hops: int
) -> list[tuple[int, int, list[tuple[str, str, str]]]]:
    """KG paths (kg.link: up to `max_hops`, no hub inside) between entities of different
    events, as (first event's position, second's, path). Each pair of entities is linked
    once, from where a walk over every pair of events (i < j) and their entities in order
    first meets it, and the paths come in that order."""
    # entity -> [(position of an event that names it, its first place among that event's
    # entities)], in event order
    spots: dict[str, list[tuple[int, int]]] = {}
    for i, event in enumerate(events):
        for place, (qid, _) in enumerate(event.entities):
            seen = spots.setdefault(qid, [])
            if not seen or seen[-1][0] != i:
                seen.append((i, place))
    met = []
    for a, b in combinations(spots, 2):
        first = _first_meeting(spots[a], spots[b])
        if first is not None:
            key, swapped = first
            met.append((key, (b, a) if swapped else (a, b)))
    out = []
    for (i, j, _, _), (a, b) in sorted(met):
        path = kg.link(a, b, max_hops=max_hops)
        if path:
            out.append((i, j, path))
    return out


def _first_meeting(
    a: list[tuple[int, int]], b: list[tuple[int, int]]
) -> tuple[tuple[int, int, int, int], bool] | None:
    """Where a walk over event pairs (i < j), then the first event's entities, then the
    second's, first meets two entities that name events at `a` and `b` (see `_links`):
    (i, j, place in i, place in j) and whether b is the one in event i; None if never."""
    (ia, place_a), (ib, place_b) = a[0], b[0]
    options = []
    if ia <= ib:  # a in event ia, b in the next event after it that names b
        later = next((spot for spot in b if spot[0] > ia), None)
        if later is not None:
            options.append(((ia, later[0], place_a, later[1]), False))
    if ib <= ia:
        later = next((spot for spot in a if spot[0] > ib), None)
        if later is not None:
            options.append(((ib, later[0], place_b, later[1]), True))
    return min(options) if options else None


def _choose_events(
    events: Sequence[GraphEvent], budget: int, max_events: int | None
) -> tuple[list[GraphEvent], set[str]]:
    """The events drawn, in the order given: each (at most `max_events`) whose node and
    entities still fit in `budget` nodes; and the ids of the nodes they draw."""
    chosen: list[GraphEvent] = []
    drawn: set[str] = set()
    for ev in events:
        if max_events is not None and len(chosen) >= max_events:
            break
        new = {f"event:{ev.id}"} | {qid for qid, _ in ev.entities}
        if len(drawn | new) > budget:
            continue
        chosen.append(ev)
        drawn |= new
    return chosen, drawn


def _choose_paths(
    chosen: Sequence[GraphEvent], kg: Any, *, max_hops: int, budget: int, drawn: set[str]
) -> list[list[tuple[str, str, str]]]:
    """The KG paths drawn between entities of different chosen events, shortest and most
    important first, each while its inner entities still fit in `budget` nodes beside the
    `drawn` ones (which it extends)."""
    paths = []
    links = _links(chosen, kg, max_hops=max_hops)
    for _, _, path in sorted(links, key=lambda x: (len(x[2]), x[0], x[1])):
        inner = {q for fact in path for q in (fact[0], fact[2])} - drawn
        if len(drawn | inner) > budget:
            continue
        drawn |= inner
        paths.append(path)
    return paths


def _relation_edges(
    entity_ids: list[str], paths: list[list[tuple[str, str, str]]], kg: Any
) -> tuple[nx.Graph, dict[str, dict[str, Any]]]:
    """The entities as a graph joined by the paths' facts (the events' entities first), and
    the facts' `relation` edges keyed by head|relation|tail."""
    edges: dict[str, dict[str, Any]] = {}
    components = nx.Graph()
    components.add_nodes_from(entity_ids)
    for path in paths:
        for head, relation, tail in path:
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
    return components, edges


def _groups(components: nx.Graph) -> dict[str, int]:
    """The groups: {entity id: group id} for the entities of each connected component with
    more than one entity, numbered largest component first (ties by smallest id)."""
    group_of: dict[str, int] = {}
    for index, component in enumerate(
        sorted(nx.connected_components(components), key=lambda c: (-len(c), min(c)))
    ):
        if len(component) > 1:
            for qid in component:
                group_of[qid] = index
    return group_of


def _entity_nodes(
    components: nx.Graph, entity_ids: list[str], group_of: dict[str, int], kg: Any
) -> dict[str, dict[str, Any]]:
    """The `entity` nodes, keyed by entity id, in the graph's order: label, description,
    group, whether an event names it (`linked`) and whether it is a hub."""
    nodes: dict[str, dict[str, Any]] = {}
    for qid in components.nodes:
        nodes[qid] = {
            "data": {
                "id": qid,
                "kind": "entity",
                "label": kg.label(qid) or qid,
                "description": kg.description(qid) or "",
                "group": group_of.get(qid),
                "linked": qid in entity_ids,
                "hub": kg.is_hub(qid),
            }
        }
    return nodes


def _event_elements(
    chosen: Sequence[GraphEvent], group_of: dict[str, int]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[int, int | None]]:
    """The chosen events' `event` nodes and `mentions` edges (keyed by id), and each event's
    group: the smallest group of its entities, or None."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[str, dict[str, Any]] = {}
    event_groups: dict[int, int | None] = {}
    for ev in chosen:
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
    return nodes, edges, event_groups


def build_explanation_graph(
    events: Sequence[GraphEvent],
    kg: Any,
    *,
    max_hops: int = 3,
    max_nodes: int | None = None,
    max_events: int | None = None,
) -> tuple[dict[str, list[dict[str, Any]]], dict[int, int | None]]:
    """Return (cytoscape elements, event id -> group id or None) for `events`, given in
    order of importance.

    With `max_nodes` / `max_events`, a readable summary: the first events (at most
    `max_events`) with their entities while they fit in `max_nodes`, then the KG paths
    between entities of different events, shortest and most important first, while their
    inner entities fit. Without them, every event and every path.
    """
    budget = max_nodes if max_nodes is not None else 10**9
    chosen, drawn = _choose_events(events, budget, max_events)
    paths = _choose_paths(chosen, kg, max_hops=max_hops, budget=budget, drawn=drawn)
    entity_ids = sorted({qid for ev in chosen for qid, _ in ev.entities})
    components, edges = _relation_edges(entity_ids, paths, kg)
    group_of = _groups(components)
    nodes = _entity_nodes(components, entity_ids, group_of, kg)
    event_nodes, mentions, event_groups = _event_elements(chosen, group_of)
    nodes.update(event_nodes)
    edges.update(mentions)
    return {"nodes": list(nodes.values()), "edges": list(edges.values())}, event_groups
