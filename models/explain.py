"""Occlusion effects of single events on the model's probability (P(up), P(big move));
pooling lives in models.inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["occlusion_effects"]


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
