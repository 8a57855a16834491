"""The KG-embedding artifact: entity/relation vectors as numpy arrays plus metadata.

On disk an artifact is one folder, written atomically (built in a temporary sibling folder,
then renamed into place), holding:

- `vectors.npz`: `entities` (n_entities, dim) float32 and `relations` (n_relations, dim)
  float32;
- `index.json`: `{"entities": {label: row}, "relations": {label: row}}`;
- `meta.json`: `format` (`FORMAT`), model name, hyper-parameters, training time in
  seconds, peak resident memory in MiB, number of triples, loss per epoch, and whatever
  the caller adds (a version name, the data window).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMAT", "KGEmbeddings"]

FORMAT = "kdtcn-kge/1"


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


@dataclass
class KGEmbeddings:
    """Entity and relation vectors; rows of the arrays are indexed by the *_to_id maps.

    Keys are graph labels: Wikidata Q-ids, "w:<lemma>" word nodes, P-ids and
    "pred:<lemma>" event relations.
    """

    entity_to_id: dict[str, int]
    relation_to_id: dict[str, int]
    entity_vectors: np.ndarray  # (n_entities, dim) float32
    relation_vectors: np.ndarray  # (n_relations, dim) float32
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """Width of an entity vector (relation vectors have the same width for the
        translational models; complex models are stored as [real, imaginary] columns)."""
        return int(self.entity_vectors.shape[1])

    def entity(self, key: str) -> np.ndarray | None:
        """The (dim,) vector of an entity label, or None when it was not trained."""
        index = self.entity_to_id.get(key)
        return None if index is None else self.entity_vectors[index]

    def relation(self, key: str) -> np.ndarray | None:
        """The (dim,) vector of a relation label, or None when it was not trained."""
        index = self.relation_to_id.get(key)
        return None if index is None else self.relation_vectors[index]

    def save(self, directory: Path) -> Path:
        """Write the artifact to `directory` atomically and return it.

        The files are written and fsynced in a temporary sibling folder, which is then
        renamed onto `directory`; an existing artifact there is swapped out first and
        removed afterwards. Readers see either the old or the new artifact, never a mix;
        on error nothing is left behind.
        """
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; artifacts are read by other processes
        meta = {"format": FORMAT, **self.meta}
        try:
            with open(tmp / "vectors.npz", "wb") as fh:
                np.savez(fh, entities=self.entity_vectors, relations=self.relation_vectors)
                fh.flush()
                os.fsync(fh.fileno())
            index = {"entities": self.entity_to_id, "relations": self.relation_to_id}
            _write(tmp / "index.json", json.dumps(index).encode())
            _write(tmp / "meta.json", json.dumps(meta, indent=2, default=str).encode())
            old = None
            if directory.exists():
                old = directory.with_name(f".{directory.name}-old-{uuid.uuid4().hex[:8]}")
                os.replace(directory, old)
            os.replace(tmp, directory)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.meta = meta
        return directory

    @classmethod
    def load(cls, directory: Path) -> KGEmbeddings:
        """Read an artifact written by `save` (or by a version before `format` existed)."""
        directory = Path(directory)
        meta = json.loads((directory / "meta.json").read_text())
        if meta.get("format", FORMAT) != FORMAT:
            raise ValueError(f"{directory}: unsupported artifact format {meta['format']!r}")
        index = json.loads((directory / "index.json").read_text())
        with np.load(directory / "vectors.npz") as arrays:
            entities, relations = arrays["entities"], arrays["relations"]
        return cls(index["entities"], index["relations"], entities, relations, meta)
