"""Pooling a day's events, and occlusion effects of single events on P(up)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["rank_weights", "pool_events", "occlusion_effects"]


def rank_weights(ranks: Sequence[int] | np.ndarray) -> np.ndarray:
    """Popularity weights: proportional to 1/rank (rank 1 = hottest), summing to 1."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        return ranks
    w = 1.0 / np.clip(ranks, 1.0, None)
    return w / w.sum()


def pool_events(vectors: np.ndarray, ranks: Sequence[int] | np.ndarray) -> np.ndarray:
    """(n, d) event vectors of one day -> (d,) weighted mean; zeros for a day without events."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape[0] == 0:
        return np.zeros(vectors.shape[1] if vectors.ndim == 2 else 0, dtype=np.float32)
    return (rank_weights(ranks)[:, None] * vectors).sum(axis=0).astype(np.float32)


def occlusion_effects(
    predict: Callable[[np.ndarray], np.ndarray],
    base_input: np.ndarray,
    variants: Sequence[np.ndarray],
) -> tuple[float, np.ndarray]:
    """Effect of each event = P(up | all events) - P(up | that event removed).

    `base_input` is the model input with every event; `variants[i]` the same input with
    event i removed (its day re-pooled without it). `predict` maps a batch (n, ...) to
    P(up) (n,). All inputs are scored in one batch. Returns (P(up), effects).
    """
    if not variants:
        return float(predict(base_input[None])[0]), np.zeros(0)
    batch = np.concatenate([base_input[None], np.stack(variants)])
    probs = predict(batch)
    return float(probs[0]), probs[0] - probs[1:]
