"""How many neural-model runs an evaluation configuration makes (the CLI's progress total)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.evaluate import EvalConfig

__all__ = ["neural_runs"]


def neural_runs(config: EvalConfig) -> int:
    """Runs of `run_evaluation` that report progress: one per target, scheme, neural model and
    seed, with `config.seeds` on the fixed origin and `config.rolling_seeds` on each rolling
    scheme. Each run of a rolling scheme fits one model per refit block.

    An upper bound: a model whose event inputs are missing is skipped and reports nothing."""
    fixed = "fixed_origin" in config.schemes
    per_model_and_target = len(config.seeds) * fixed + len(config.rolling_seeds) * (
        len(config.schemes) - fixed
    )
    return len(config.models) * len(config.targets) * per_model_and_target
