"""How many neural-model runs an evaluation configuration makes (the CLI's progress total)."""

from __future__ import annotations

from evaluation.folds import EvalConfig
from models.zoo import NEURAL_MODELS

__all__ = ["neural_runs"]


def neural_runs(config: EvalConfig) -> int:
    """Runs of `run_evaluation` that report progress: one per target, scheme, neural model and
    seed, with `config.seeds` on the fixed origin and `config.rolling_seeds` on each rolling
    scheme (for `config.rolling_models` only; the tutorial networks only for
    `config.tutorial_targets`). Each run of a rolling scheme fits one model per refit block;
    tuning reports once per target and tuned model, and choosing KDTCN's variant once per
    target.

    An upper bound: a model whose inputs are missing is skipped and reports nothing."""
    fixed = "fixed_origin" in config.schemes
    rolling = len(config.schemes) - fixed
    tuning = len(config.tune_models) if config.tune_trials else 0
    tuning += int(config.select_variant and "KDTCN" in config.models)  # KDTCN's variant
    total = 0
    for target in config.targets:
        models = [
            m
            for m in config.models
            if NEURAL_MODELS[m].encoder == "tcn" or target in config.tutorial_targets
        ]
        rolling_models = [m for m in models if m in config.rolling_models]
        total += len(models) * len(config.seeds) * fixed
        total += len(rolling_models) * len(config.rolling_seeds) * rolling + tuning
    return total
