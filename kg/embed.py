"""Knowledge-graph embeddings with PyKEEN, and event vectors built from them.

`train_embeddings` fits any PyKEEN model (TransE by default; the name goes through PyKEEN's
model resolver) with the sLCWA training loop on labelled triples built from local arrays.
PyKEEN's own datasets download at run time and are never used. PyKEEN's cache folder is
pystow's PYSTOW_HOME, which this module does not set: the service sets it from its
`pystow_home` setting (`var/pystow` of the project by default, not the home directory) before
PyKEEN is first imported; other callers set the variable themselves.

No evaluation on the full graph (ranking every triple against 40k entities is slow on a
CPU); `eval_sample=N` holds out N random triples instead and reports filtered MRR and
Hits@k on them, a cheap check that the vectors learned something.

The artifact type (`KGEmbeddings`) lives in `kg.kge_artifact`, the event side
(`event_triples`, `EventEmbedder`) in `kg.event_vectors`; both are re-exported here.
"""

from __future__ import annotations

import gc
import logging
import resource
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import numpy as np

from kg.event_vectors import EventEmbedder, Triple, event_nodes, event_triples
from kg.kge_artifact import FORMAT, KGEmbeddings

__all__ = [
    "KGEmbeddings",
    "FORMAT",
    "train_embeddings",
    "event_triples",
    "event_nodes",
    "EventEmbedder",
    "Triple",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, float], None]


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _real(weights: np.ndarray) -> np.ndarray:
    """Complex-valued models (ComplEx, RotatE) as [real, imaginary] float32 columns."""
    if np.iscomplexobj(weights):
        weights = np.concatenate([weights.real, weights.imag], axis=-1)
    return weights.reshape(weights.shape[0], -1).astype(np.float32)


def _hold_out(labelled: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) rows: up to n random triples whose entities and relation all
    still occur in the training rows (the others go back to training)."""
    if n <= 0:
        return labelled, labelled[:0]
    rng = np.random.default_rng(seed)
    picked = np.zeros(len(labelled), dtype=bool)
    picked[rng.choice(len(labelled), size=min(n, len(labelled) // 10), replace=False)] = True
    train = labelled[~picked]
    entities = set(train[:, 0]) | set(train[:, 2])
    relations = set(train[:, 1])
    ok = np.array(
        [h in entities and t in entities and r in relations for h, r, t in labelled[picked]],
        dtype=bool,
    )
    held = labelled[picked][ok]
    return np.concatenate([train, labelled[picked][~ok]]), held


def _evaluate(model: Any, factory: Any, held: np.ndarray, batch_size: int) -> dict[str, float]:
    """Filtered rank metrics (both sides, realistic ranks) on the held-out triples."""
    from pykeen.evaluation import RankBasedEvaluator

    mapped = factory.map_triples(held)
    result = RankBasedEvaluator().evaluate(
        model=model,
        mapped_triples=mapped,
        batch_size=batch_size,
        use_tqdm=False,
        additional_filter_triples=[factory.mapped_triples],
    )
    return {
        "n_held_out": int(len(held)),
        "mrr": round(float(result.get_metric("both.realistic.inverse_harmonic_mean_rank")), 4),
        "hits_at_1": round(float(result.get_metric("both.realistic.hits_at_1")), 4),
        "hits_at_10": round(float(result.get_metric("both.realistic.hits_at_10")), 4),
        "mean_rank": round(float(result.get_metric("both.realistic.arithmetic_mean_rank")), 1),
    }


def train_embeddings(
    triples: Sequence[Triple],
    *,
    model: str = "TransE",
    dim: int = 64,
    epochs: int = 20,
    batch_size: int = 4096,
    learning_rate: float = 0.01,
    num_negs: int = 1,
    seed: int = 0,
    eval_sample: int = 0,
    model_kwargs: dict[str, Any] | None = None,
    progress: bool | Progress = False,
) -> KGEmbeddings:
    """Train `model` on (head, relation, tail) label triples and return its vectors.

    Args:
        triples: label triples; duplicates are dropped. Labels are any strings (Q-ids,
            "w:<lemma>", "pred:<lemma>").
        model: a PyKEEN model name ("TransE", "DistMult", "ComplEx", "RotatE", ...).
        dim: embedding width (complex models store 2 * dim real columns).
        epochs, batch_size, learning_rate (Adam), num_negs (negatives per positive,
            basic sLCWA sampler), seed: training settings.
        eval_sample: hold this many random triples out of training and report filtered
            rank metrics on them in `meta["eval"]` (0: train on everything, no metrics).
        model_kwargs: extra keyword arguments for the model's constructor.
        progress: True shows a per-epoch tqdm bar; a callable is called as
            `progress(epoch, epochs, loss)` after each epoch. Epochs are logged at INFO.

    The metadata records the settings, the training time in seconds, the process's peak
    resident memory in MiB (`peak_rss_mb`, and `rss_before_mb` at the start) and the
    mean loss of each epoch.
    """
    import torch
    from pykeen.triples import TriplesFactory

    started = time.perf_counter()
    rss_before = _peak_rss_mb()
    torch.manual_seed(seed)
    labelled = np.asarray(sorted(set(triples)), dtype=str).reshape(-1, 3)
    train, held = _hold_out(labelled, eval_sample, seed)
    factory = TriplesFactory.from_labeled_triples(train)
    kge = _make_model(model, factory, dim=dim, seed=seed, model_kwargs=model_kwargs)
    losses = _fit(
        kge,
        factory,
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        num_negs=num_negs,
        progress=progress,
    )
    train_seconds = time.perf_counter() - started
    kge.eval()
    with torch.no_grad():
        entities = _real(kge.entity_representations[0](indices=None).cpu().numpy())
        relations = _real(kge.relation_representations[0](indices=None).cpu().numpy())
    meta: dict[str, Any] = {
        "format": FORMAT,
        "model": model,
        "dim": dim,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "num_negs": num_negs,
        "seed": seed,
        "n_triples": int(len(train)),
        "n_entities": factory.num_entities,
        "n_relations": factory.num_relations,
        "train_seconds": round(train_seconds, 1),
        "rss_before_mb": round(rss_before),
        "peak_rss_mb": round(_peak_rss_mb()),
        "losses": [round(float(x), 5) for x in losses or []],
    }
    _score_and_log(meta, kge, factory, held)
    return KGEmbeddings(
        dict(factory.entity_to_id), dict(factory.relation_to_id), entities, relations, meta
    )


def _score_and_log(meta: dict[str, Any], kge: Any, factory: Any, held: np.ndarray) -> None:
    """Score the held-out triples into `meta["eval"]` (filtered rank metrics, when any were
    held out) and log the training's figures."""
    if len(held):
        eval_started = time.perf_counter()
        meta["eval"] = _evaluate(kge, factory, held, batch_size=32)
        meta["eval"]["seconds"] = round(time.perf_counter() - eval_started, 1)
    log.info(
        "%s on %d triples: %.1f s, peak RSS %d MiB%s",
        meta["model"],
        meta["n_triples"],
        meta["train_seconds"],
        meta["peak_rss_mb"],
        f", held-out {meta['eval']}" if "eval" in meta else "",
    )


def _make_model(
    model: str, factory: Any, *, dim: int, seed: int, model_kwargs: dict[str, Any] | None
) -> Any:
    """A fresh PyKEEN `model` over the factory's entities and relations (every model trained
    here, TransE, RotatE, ..., is an ERModel: its representations are read after training)."""
    from pykeen.models import ERModel, model_resolver

    return cast(
        ERModel,
        model_resolver.make(
            model,
            triples_factory=factory,
            embedding_dim=dim,
            random_seed=seed,
            **(model_kwargs or {}),
        ),
    )


def _fit(
    kge: Any,
    factory: Any,
    *,
    model: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    num_negs: int,
    progress: bool | Progress,
) -> list[float]:
    """Train `kge` in place (Adam, PyKEEN's sLCWA loop with `num_negs` basic negatives per
    positive); the mean loss of each epoch, each also logged and passed to `progress`."""
    import torch
    from pykeen.training import SLCWATrainingLoop
    from pykeen.training.callbacks import TrainingCallback

    optimizer = torch.optim.Adam(kge.parameters(), lr=learning_rate)
    loop = SLCWATrainingLoop(
        model=kge,
        triples_factory=factory,
        optimizer=optimizer,
        negative_sampler_kwargs={"num_negs_per_pos": num_negs},
    )

    class _Report(TrainingCallback):
        def post_epoch(self, epoch: int, epoch_loss: float, **_: Any) -> None:
            log.debug("%s epoch %d/%d: loss %.5f", model, epoch, epochs, epoch_loss)
            if callable(progress):
                progress(epoch, epochs, epoch_loss)

    with warnings.catch_warnings(), _collections_skip_what_exists():
        # PyKEEN's data loader asks for pinned memory, which a machine without a GPU lacks:
        # torch says so on every training, and nothing is wrong.
        warnings.filterwarnings("ignore", message=".*pin_memory.*", category=UserWarning)
        losses = loop.train(
            triples_factory=factory,
            num_epochs=epochs,
            batch_size=batch_size,
            use_tqdm=progress is True,
            use_tqdm_batch=False,
            callbacks=[_Report()],
        )
    return list(losses or [])


@contextmanager
def _collections_skip_what_exists() -> Iterator[None]:
    """PyKEEN's training loop collects garbage after every epoch (`gc.collect()`). In a
    process that holds the graph and spaCy (~800k objects: the service, a worker) each
    collection walked them all, 0.5 s an epoch: the first start's TransE (25 epochs, one
    thread) took 70 s, 59 s without it.
    The objects alive before training are left out of collections while it runs (frozen,
    then thawed; a process that had frozen its own objects keeps them frozen). Collection
    order changes no number."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if frozen_before == 0:
            gc.unfreeze()
