"""The local Wikidata subgraph (WD40k) in networkx, with labels, descriptions and relations.

Parsing the files takes about 3 s, and every process of the service loads the graph (the
API, its extraction and trainer processes, each `kdtcn worker`). Where PYSTOW_HOME is set (the
service's settings set it: `var/pystow` by default), `KnowledgeGraph.load` keeps the parsed
graph as a pickle in pystow's folder for the project, `kdtcn/graph/`, named by the hash of
the files, of this module's source and of the Python and networkx versions; a process whose
files match loads it in about 0.6 s instead. The pickle holds the same graph, in the same
order (paths and their ties are the parsed graph's).
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import logging
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import networkx as nx
from cachetools import LRUCache

__all__ = [
    "HUB_DEGREE",
    "SNAPSHOT",
    "KnowledgeGraph",
    "Triple",
    "is_wikimedia_internal",
]

log = logging.getLogger(__name__)

Triple = tuple[str, str, str]  # (head Q-id, relation P-id, tail Q-id)
# Wikimedia's own pages are items of Wikidata too (categories, list articles, templates,
# portals, disambiguation and project pages: 4,152 of WD40k's 40,000 entities). They are
# facts about Wikipedia, not about the world a headline speaks of, so the graph leaves them
# out: by their description ("Wikimedia category", "Wikimedia list article", ...) or their
# label's namespace ("Category:...", "Wikipedia:...").
WIKIMEDIA_NAMESPACES = (
    "Wikipedia:",
    "Category:",
    "Template:",
    "Portal:",
    "Help:",
    "Module:",
    "Wikidata:",
    "Wikinews:",
    "Draft:",
    "Book:",
    "MediaWiki:",
    "File:",
)
# The age of the knowledge: WD40k is a Wikidata snapshot of about 2018. It holds entities
# created in 2017-18 (e.g. Q30137638, a moon found in 2017; Q15062956, the German federal
# election of 2017) and facts of those years, later than every headline of the demo.
SNAPSHOT = {
    "name": "WD40k",
    "as_of": "about 2018",
    "note": "a Wikidata snapshot later than the demo's news (2008-2016): entities and facts "
    "of 2017-18 are in it, so the knowledge channel knows some of the future",
}


def is_wikimedia_internal(label: str | None, description: str | None) -> bool:
    """Whether an entity is one of Wikimedia's own pages (see WIKIMEDIA_NAMESPACES)."""
    if description and "wikimedia" in description.lower():
        return True
    return bool(label) and label.startswith(WIKIMEDIA_NAMESPACES)  # type: ignore[union-attr]


# Entities with this many neighbours or more are hubs (WD40k: 33 of 40,000, e.g. France 4,601,
# the US 2,222, the UK 997; the 99.9th percentile of degrees is 389).
HUB_DEGREE = 500


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line:
                yield line


def _find(directory: Path, name: str) -> Path:
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name}(.gz) not found in {directory}")


def _cached_path(directory: Path) -> Path | None:
    """Where the parsed graph of `directory` is kept: None without PYSTOW_HOME (nothing is
    written to the home folder) or when the folder cannot be made."""
    home = os.environ.get("PYSTOW_HOME")
    if not home:
        return None
    key = hashlib.sha256()
    for part in (sys.version, nx.__version__, Path(__file__).read_bytes()):
        key.update(part.encode() if isinstance(part, str) else part)
    for file in sorted(directory.iterdir()):
        if file.is_file():
            key.update(file.name.encode() + b"\0" + file.read_bytes())
    folder = Path(home) / "kdtcn" / "graph"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / f"wd40k-{key.hexdigest()[:16]}.pickle"


def _unpickle(data: bytes) -> object:
    """The pickled graph, built with the cyclic collector paused: its ~800k objects made
    the collector walk the growing heap again and again (2.6 s against 0.4 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        if enabled:
            gc.enable()


def _keep(path: Path, data: bytes) -> None:
    """Write the pickle whole or not at all (a temporary file renamed: processes that start
    together never read half a file), and remove the graphs kept for other files."""
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as fh:
            temporary = Path(fh.name)
            fh.write(data)
        os.replace(temporary, path)
        for old in path.parent.glob("wd40k-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        log.warning("could not keep the parsed graph in %s", path.parent, exc_info=True)
        if temporary is not None:
            temporary.unlink(missing_ok=True)  # a disk full mid-write leaves nothing behind


def _quoted_map(path: Path) -> dict[str, str]:
    out = {}
    for line in _lines(path):
        key, _, value = line.partition("\t")
        out[key] = value.strip().removeprefix('"').removesuffix('"')
    return out


class KnowledgeGraph:
    """Directed multigraph of Wikidata facts; edges carry the relation P-id as `key`.

    Path queries treat the graph as undirected (a fact links two entities whichever way it
    points) but report each edge with its true direction. `triples` are (head Q-id, relation
    P-id, tail Q-id); `labels` and `descriptions` map Q-ids to text, `relation_names` P-ids
    to names.
    """

    def __init__(
        self,
        triples: Iterable[Triple],
        *,
        labels: dict[str, str],
        descriptions: dict[str, str],
        relation_names: dict[str, str],
    ) -> None:
        """Build the directed graph and its undirected copy from `triples`, in their order."""
        self.graph = nx.MultiDiGraph()
        # A plain undirected copy built in file order, not `to_undirected(as_view=True)`:
        # the view iterates neighbours through a set, so shortest-path ties were broken by
        # the process's string-hash seed and two replicas could draw different paths.
        self.undirected = nx.Graph()
        for head, relation, tail in triples:
            self.graph.add_edge(head, tail, key=relation)
            self.undirected.add_edge(head, tail)
        self.labels = labels
        self.descriptions = descriptions
        self.relation_names = relation_names
        self._neighbour_cache: dict[str, set[str]] = {}
        # start -> {y: (position, x)}: see _two_hops; bounded, a service links many entities
        self._reach_cache: LRUCache[str, dict[str, tuple[int, str]]] = LRUCache(maxsize=4096)
        self.dropped: dict[str, int] = {}  # what `load` left out (Wikimedia's own pages)

    @classmethod
    def load(cls, directory: Path, *, cache: bool = True) -> KnowledgeGraph:
        """Load the WD40k files (`head<TAB>tail<TAB>relation`, all splits) from `directory`,
        or their parsed graph kept by an earlier load (see the module docstring; `cache`
        False: parse, and keep nothing)."""
        directory = Path(directory)
        path = _cached_path(directory) if cache else None
        if path is not None and path.exists():
            started = time.perf_counter()
            try:
                kg = _unpickle(path.read_bytes())
            except Exception:  # a truncated or foreign file: parse, and write it again
                log.warning("could not read the kept graph %s; parsing the files", path)
            else:
                if isinstance(kg, cls):
                    log.info("WD40k graph from %s in %.1f s", path, time.perf_counter() - started)
                    return kg
        kg = cls._parse(directory)
        if path is not None:
            _keep(path, pickle.dumps(kg, protocol=pickle.HIGHEST_PROTOCOL))
        return kg

    @classmethod
    def _parse(cls, directory: Path) -> KnowledgeGraph:
        """The graph of the WD40k files in `directory`."""
        started = time.perf_counter()
        triples: list[Triple] = []
        for split in ("train.txt", "valid.txt", "test.txt"):
            for line in _lines(_find(directory, split)):
                head, tail, relation = line.split("\t")
                triples.append((head, relation, tail))
        relation_names = {}
        for line in _lines(_find(directory, "relation_name.txt")):
            pid, _, name = line.partition("\t")
            relation_names[pid] = name.strip()
        labels = _quoted_map(_find(directory, "entitie_name.txt"))
        descriptions = _quoted_map(_find(directory, "mid2description.txt"))
        internal = {
            q
            for q in set(labels) | set(descriptions)
            if is_wikimedia_internal(labels.get(q), descriptions.get(q))
        }
        kept = [t for t in triples if t[0] not in internal and t[2] not in internal]
        kg = cls(
            kept,
            labels={q: v for q, v in labels.items() if q not in internal},
            descriptions={q: v for q, v in descriptions.items() if q not in internal},
            relation_names=relation_names,
        )
        kg.dropped = {"wikimedia_entities": len(internal), "facts": len(triples) - len(kept)}
        log.info(
            "WD40k graph: %d entities, %d facts in %.1f s (left out: %d Wikimedia pages, "
            "%d facts naming them)",
            kg.graph.number_of_nodes(),
            kg.graph.number_of_edges(),
            time.perf_counter() - started,
            len(internal),
            len(triples) - len(kept),
        )
        return kg

    def __contains__(self, qid: str) -> bool:
        """Whether the entity is in at least one fact of the graph (a label alone is not)."""
        return qid in self.graph

    def label(self, qid: str) -> str | None:
        """The entity's label ("Q29" -> "Spain"), or None."""
        return self.labels.get(qid)

    def description(self, qid: str) -> str | None:
        """The entity's Wikidata description, or None."""
        return self.descriptions.get(qid)

    def relation_name(self, pid: str) -> str | None:
        """The relation's name ("P31" -> "instance of"), or None."""
        return self.relation_names.get(pid)

    def degree(self, qid: str) -> int:
        """The number of facts naming the entity, in and out (0 when it is not in the graph)."""
        return self.graph.degree(qid) if qid in self.graph else 0

    def triples(self) -> list[Triple]:
        """Every fact as (head, relation, tail), in graph order."""
        return [(h, r, t) for h, t, r in self.graph.edges(keys=True)]

    def neighbours(self, qid: str) -> list[tuple[str, str, str]]:
        """[(relation, neighbour, "out"|"in")] of an entity."""
        if qid not in self.graph:
            return []
        out = [(r, t, "out") for _, t, r in self.graph.out_edges(qid, keys=True)]
        return out + [(r, h, "in") for h, _, r in self.graph.in_edges(qid, keys=True)]

    def _edge(self, a: str, b: str) -> Triple:
        """One fact joining a and b, in its true direction (smallest relation id first)."""
        if self.graph.has_edge(a, b):
            return (a, min(self.graph[a][b]), b)
        return (b, min(self.graph[b][a]), a)

    def is_hub(self, qid: str) -> bool:
        """An entity with HUB_DEGREE or more neighbours (countries such as France, the US or
        the UK, "human", time zones): a path through one says little."""
        return qid in self.undirected and self.undirected.degree(qid) >= HUB_DEGREE

    def _plain_neighbours(self, qid: str) -> set[str]:
        """Neighbours of `qid` that are not hubs (cached: the graph never changes)."""
        cached = self._neighbour_cache.get(qid)
        if cached is None:
            cached = {n for n in self.undirected.neighbors(qid) if not self.is_hub(n)}
            self._neighbour_cache[qid] = cached
        return cached

    def link(self, a: str, b: str, *, max_hops: int = 3) -> list[Triple] | None:
        """The facts along a shortest path of at most `max_hops` (1 to 3) between two
        entities whose inner entities are not hubs, or None. A hub may be an end, and a
        direct fact links any two entities.

        Written here rather than as networkx's shortest path on a hub-free view: that search
        is unbounded, and between two entities with no short link it walks most of the
        graph. Here the two ends' hub-free neighbour sets meet: a common neighbour (2 hops)
        or a fact between the two sets (3 hops). Ties go to the first in graph order.
        """
        if a not in self.undirected or b not in self.undirected or not 1 <= max_hops <= 3:
            return None
        if a == b:
            return []
        if self.undirected.has_edge(a, b):
            return [self._edge(a, b)]
        if max_hops < 2:
            return None
        near_a, near_b = self._plain_neighbours(a), self._plain_neighbours(b)
        common = near_a & near_b
        middle = next((m for m in self.undirected.neighbors(a) if m in common), None)
        if middle is not None:
            return [self._edge(a, middle), self._edge(middle, b)]
        if max_hops < 3:
            return None
        # a - x - y - b: walk from the smaller side
        flip = len(near_a) > len(near_b)
        start, end, near_end = (b, a, near_a) if flip else (a, b, near_b)
        reach = self._two_hops(start)
        found = min(((*reach[y], y) for y in near_end if y in reach), default=None)
        if found is None:
            return None
        _, x, y = found
        nodes = [start, x, y, end]
        if flip:
            nodes.reverse()
        return [self._edge(u, v) for u, v in zip(nodes, nodes[1:], strict=False)]

    def _two_hops(self, start: str) -> dict[str, tuple[int, str]]:
        """Every entity y two hops from `start` through one of its hub-free neighbours x, as
        y -> (position, x) for the first (x, y) in graph order: x in the order of start's
        neighbours, y in the order of x's. The first pair whose y lies in a set is then the
        one of the smallest position, which the walk it replaces returned (cached: `link`
        asks from one entity for many ends)."""
        cached = self._reach_cache.get(start)
        if cached is None:
            cached, near = {}, self._plain_neighbours(start)
            for x in self.undirected.neighbors(start):
                if x not in near:
                    continue
                for y in self.undirected.neighbors(x):
                    if y != start and y not in cached:
                        cached[y] = (len(cached), x)
            self._reach_cache[start] = cached
        return cached

    def shortest_path(self, a: str, b: str, *, max_hops: int = 3) -> list[Triple] | None:
        """The facts along a shortest path between two entities, or None beyond max_hops."""
        if a not in self.graph or b not in self.graph:
            return None
        if a == b:
            return []
        try:
            nodes = nx.bidirectional_shortest_path(self.undirected, a, b)
        except nx.NetworkXNoPath:
            return None
        if len(nodes) - 1 > max_hops:
            return None
        return [self._edge(x, y) for x, y in zip(nodes, nodes[1:], strict=False)]

    def subgraph(
        self, qids: Iterable[str], *, hops: int = 1, max_nodes: int = 500
    ) -> nx.MultiDiGraph:
        """The entities within `hops` of `qids` (closest first, capped) and the facts among them."""
        frontier = [q for q in qids if q in self.graph]
        keep: dict[str, None] = dict.fromkeys(frontier)
        for _ in range(hops):
            nxt = []
            for node in frontier:
                for neighbour in self.undirected.neighbors(node):
                    if neighbour not in keep and len(keep) < max_nodes:
                        keep[neighbour] = None
                        nxt.append(neighbour)
            frontier = nxt
        return self.graph.subgraph(keep).copy()
