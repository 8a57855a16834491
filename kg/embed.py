"""Knowledge-graph embeddings with PyKEEN, and event vectors built from them.

`train_embeddings` fits any PyKEEN model (TransE by default) with the sLCWA training loop on
labelled triples built from local arrays (PyKEEN's own datasets download at run time and are
never used). The result is a `KGEmbeddings` artifact: numpy arrays plus metadata, written
atomically as a versioned folder.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kg.types import EntityLink, Event

__all__ = ["KGEmbeddings", "train_embeddings", "event_triples", "event_nodes", "EventEmbedder"]

Triple = tuple[str, str, str]


@dataclass
class KGEmbeddings:
    """Entity and relation vectors; rows of the arrays are indexed by the *_to_id maps."""

    entity_to_id: dict[str, int]
    relation_to_id: dict[str, int]
    entity_vectors: np.ndarray  # (n_entities, dim) float32
    relation_vectors: np.ndarray  # (n_relations, dim) float32
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.entity_vectors.shape[1])

    def entity(self, key: str) -> np.ndarray | None:
        index = self.entity_to_id.get(key)
        return None if index is None else self.entity_vectors[index]

    def relation(self, key: str) -> np.ndarray | None:
        index = self.relation_to_id.get(key)
        return None if index is None else self.relation_vectors[index]

    def save(self, directory: Path) -> Path:
        """Write into a temporary sibling folder, then rename it into place (atomic)."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; artifacts are read by other processes
        try:
            np.savez(
                tmp / "vectors.npz", entities=self.entity_vectors, relations=self.relation_vectors
            )
            (tmp / "index.json").write_text(
                json.dumps({"entities": self.entity_to_id, "relations": self.relation_to_id})
            )
            (tmp / "meta.json").write_text(json.dumps(self.meta, indent=2, default=str))
            if directory.exists():
                shutil.rmtree(directory)
            os.replace(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def load(cls, directory: Path) -> KGEmbeddings:
        directory = Path(directory)
        arrays = np.load(directory / "vectors.npz")
        index = json.loads((directory / "index.json").read_text())
        return cls(
            index["entities"],
            index["relations"],
            arrays["entities"],
            arrays["relations"],
            json.loads((directory / "meta.json").read_text()),
        )


def _real(weights: np.ndarray) -> np.ndarray:
    """Complex-valued models (ComplEx, RotatE) as [real, imaginary] float32 columns."""
    if np.iscomplexobj(weights):
        weights = np.concatenate([weights.real, weights.imag], axis=-1)
    return weights.reshape(weights.shape[0], -1).astype(np.float32)


def train_embeddings(
    triples: Sequence[Triple],
    *,
    model: str = "TransE",
    dim: int = 32,
    epochs: int = 20,
    batch_size: int = 8192,
    learning_rate: float = 0.01,
    num_negs: int = 1,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
) -> KGEmbeddings:
    """Train `model` (any name PyKEEN's model resolver knows) on labelled triples.

    `progress(epoch, epochs, loss)` is called after each epoch. The metadata records the
    training time, the process's peak resident memory and the loss per epoch.
    """
    os.environ.setdefault("PYSTOW_HOME", str(Path.cwd() / "var" / "pystow"))
    import torch
    from pykeen.models import model_resolver
    from pykeen.training import SLCWATrainingLoop
    from pykeen.training.callbacks import TrainingCallback
    from pykeen.triples import TriplesFactory

    started = time.perf_counter()
    torch.manual_seed(seed)
    labelled = np.asarray(sorted(set(triples)), dtype=str)
    factory = TriplesFactory.from_labeled_triples(labelled)
    kge = model_resolver.make(model, triples_factory=factory, embedding_dim=dim, random_seed=seed)
    optimizer = torch.optim.Adam(kge.parameters(), lr=learning_rate)
    loop = SLCWATrainingLoop(
        model=kge,
        triples_factory=factory,
        optimizer=optimizer,
        negative_sampler_kwargs={"num_negs_per_pos": num_negs},
    )

    class _Report(TrainingCallback):
        def post_epoch(self, epoch: int, epoch_loss: float, **_: Any) -> None:
            if progress is not None:
                progress(epoch, epochs, epoch_loss)

    losses = loop.train(
        triples_factory=factory,
        num_epochs=epochs,
        batch_size=batch_size,
        use_tqdm=False,
        callbacks=[_Report()],
    )
    kge.eval()
    with torch.no_grad():
        entities = _real(kge.entity_representations[0](indices=None).cpu().numpy())
        relations = _real(kge.relation_representations[0](indices=None).cpu().numpy())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return KGEmbeddings(
        dict(factory.entity_to_id),
        dict(factory.relation_to_id),
        entities,
        relations,
        {
            "model": model,
            "dim": dim,
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "seed": seed,
            "n_triples": int(len(labelled)),
            "n_entities": factory.num_entities,
            "n_relations": factory.num_relations,
            "train_seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(peak_mb),
            "losses": [round(float(x), 5) for x in losses],
        },
    )


def event_nodes(event: Event, links: Iterable[EntityLink]) -> tuple[str, str, str | None]:
    """(subject node, relation, object node): a node is the first linked entity of that role,
    else "w:" + the phrase's head lemma; the relation is "pred:" + the predicate lemma."""
    by_role: dict[str, str] = {}
    for link in links:
        by_role.setdefault(link.role, link.entity_id)
    subject = by_role.get("subject") or f"w:{event.subject.head}"
    obj = None
    if event.object is not None:
        obj = by_role.get("object") or f"w:{event.object.head}"
    return subject, f"pred:{event.predicate.head}", obj


def event_triples(events: Iterable[tuple[Event, list[EntityLink]]]) -> list[Triple]:
    """Event triples for training; an event without an object gives no triple."""
    out = []
    for event, links in events:
        subject, relation, obj = event_nodes(event, links)
        if obj is not None:
            out.append((subject, relation, obj))
    return out


class EventEmbedder:
    """Multi-channel event vector, after the paper's "multi-channel concatenation".

    Channels, each `dim` wide, concatenated: [subject node, predicate relation, object node,
    context], then 4 mask bits saying which channels are present. The context channel is the
    mean embedding of the graph neighbours of the event's linked entities (up to
    `max_neighbours` each), the "what the graph knows around it"; it is zero when no graph
    is given (the ablation trained without the KG). Missing parts are zeros with mask 0.
    """

    def __init__(
        self, embeddings: KGEmbeddings, *, graph: Any | None = None, max_neighbours: int = 50
    ) -> None:
        self.emb = embeddings
        self.graph = graph
        self.max_neighbours = max_neighbours
        self._context_cache: dict[str, np.ndarray | None] = {}

    @property
    def dim(self) -> int:
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
