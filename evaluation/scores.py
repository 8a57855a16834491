"""How a scheme's models are scored and compared: per-seed and seed-ensemble figures on all
test days and on the abrupt-change subsets, and the paired moving-block bootstrap of one
model against another (models.stats)."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluation.folds import EvalConfig
from models.metrics import fast_auc, fast_mcc, probability_scores
from models.stats import block_bootstrap_diff, seed_summary

__all__ = ["compare", "summarise"]


def compare(
    y: np.ndarray,
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    cfg: EvalConfig,
) -> dict[str, dict[str, Any]]:
    """KDTCN minus another model: MCC of the calls, AUC of the probabilities."""
    return {
        "mcc": block_bootstrap_diff(
            y, a[1], b[1], fast_mcc, block_length=cfg.block_length, n_resamples=cfg.n_resamples
        ),
        "auc": block_bootstrap_diff(
            y, a[0], b[0], fast_auc, block_length=cfg.block_length, n_resamples=cfg.n_resamples
        ),
    }


def summarise(
    per_seed: list[tuple[np.ndarray, np.ndarray]],
    ensemble: tuple[np.ndarray, np.ndarray],
    y: np.ndarray,
    subsets: dict[str, dict[str, Any]],
    cuts: list[float],
) -> dict[str, Any]:
    """Per-seed figures (mean, sample std with ddof=1, n) and the seed ensemble's (the mean
    probability, called at the cut chosen on its training days), on all test days and on
    each abrupt subset."""
    masks = {"all": np.ones(len(y), bool), **{k: v["mask"] for k, v in subsets.items()}}
    out: dict[str, Any] = {"per_seed": {}, "ensemble": {}}
    for name, mask in masks.items():
        seed_scores = [probability_scores(y[mask], p[mask], calls=c[mask]) for p, c in per_seed]
        out["per_seed"][name] = {
            k: seed_summary([s[k] for s in seed_scores])
            for k in seed_scores[0]
            if k not in ("n_days", "majority_accuracy")
        }
        p, c = ensemble
        out["ensemble"][name] = probability_scores(y[mask], p[mask], calls=c[mask])
    out["n_seeds"] = len(per_seed)
    out["decision_cuts"] = cuts
    return out
