"""Moving-block bootstrap, Holm adjustment and seed summaries of models/stats.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.stats import block_bootstrap_diff, holm, seed_summary


def accuracy(y: np.ndarray, calls: np.ndarray) -> float:
    return float(np.mean(y == calls))


def _runs(rng: np.random.Generator, n: int, p_one: float, stay: float) -> np.ndarray:
    """0/1 series with P(1) = p_one whose value persists with probability `stay` (runs)."""
    x = np.empty(n, dtype=bool)
    x[0] = rng.random() < p_one
    for t in range(1, n):
        x[t] = x[t - 1] if rng.random() < stay else rng.random() < p_one
    return x


def _case(seed: int, n: int = 600, err_a: float = 0.2, err_b: float = 0.4):
    """Outcomes with runs, and two callers whose errors come in runs too (autocorrelated):
    a wrong on a share err_a of days, b on err_b, so the true accuracy difference is
    err_b - err_a."""
    rng = np.random.default_rng(seed)
    y = _runs(rng, n, 0.5, 0.7).astype(np.int64)
    wrong_a = _runs(rng, n, err_a, 0.8)
    wrong_b = _runs(rng, n, err_b, 0.8)
    return y, np.where(wrong_a, 1 - y, y), np.where(wrong_b, 1 - y, y)


def test_interval_contains_the_true_difference_and_excludes_zero():
    y, a, b = _case(seed=1, n=1500, err_a=0.15, err_b=0.45)
    out = block_bootstrap_diff(y, a, b, accuracy, n_resamples=1000, seed=0)
    assert out["low"] <= 0.3 <= out["high"], out
    assert out["low"] > 0, out
    assert out["p_value"] < 0.01, out
    assert out["diff"] == pytest.approx(accuracy(y, a) - accuracy(y, b))
    assert out["n_resamples"] == 1000 and out["n_valid"] == 1000
    assert set(out) >= {"diff", "low", "high", "p_value", "block_length", "n_resamples"}


def test_chosen_blocks_follow_autocorrelated_errors_and_widen_the_interval():
    """Errors in runs (about 6 days): the rule picks blocks longer than 1, and the interval is
    wider than the i.i.d. (block length 1) one, which would be too narrow here."""
    y, a, b = _case(seed=2)
    chosen = block_bootstrap_diff(y, a, b, accuracy, n_resamples=1000, seed=0)
    iid = block_bootstrap_diff(y, a, b, accuracy, block_length=1, n_resamples=1000, seed=0)
    assert iid["block_length"] == 1
    assert 3 <= chosen["block_length"] <= len(y) // 4, chosen
    assert chosen["high"] - chosen["low"] > 1.3 * (iid["high"] - iid["low"]), (chosen, iid)


def test_coverage_of_the_known_difference_over_repeated_samples():
    """Over 20 samples the block intervals cover the true difference about as often as they
    should; i.i.d. resampling (block length 1) misses it far more often on these data."""
    covered = covered_iid = 0
    for seed in range(20):
        y, a, b = _case(seed=100 + seed, n=400)
        out = block_bootstrap_diff(y, a, b, accuracy, n_resamples=300, seed=seed)
        iid = block_bootstrap_diff(y, a, b, accuracy, block_length=1, n_resamples=300, seed=seed)
        covered += out["low"] <= 0.2 <= out["high"]
        covered_iid += iid["low"] <= 0.2 <= iid["high"]
    assert covered >= 16  # nominal 95%; 16 of 20 is a loose lower bound
    assert covered_iid < covered - 3


def test_p_value_is_large_without_a_difference():
    y, a, _ = _case(seed=3)
    same = block_bootstrap_diff(y, a, a.copy(), accuracy, n_resamples=500, seed=0)
    assert same["diff"] == 0 and same["low"] == 0 and same["high"] == 0
    assert same["p_value"] == 1.0
    assert same["block_length"] >= 1  # loss difference constant: falls back to y
    # two different callers of equal quality: no evidence of a difference
    y, a, b = _case(seed=2, n=1500, err_a=0.3, err_b=0.3)
    out = block_bootstrap_diff(y, a, b, accuracy, n_resamples=1000, seed=0)
    assert out["low"] < 0 < out["high"], out
    assert out["p_value"] > 0.2, out


def test_same_seed_same_result_and_block_length_recorded():
    y, a, b = _case(seed=5)
    one = block_bootstrap_diff(y, a, b, accuracy, block_length=7, n_resamples=300, seed=42)
    two = block_bootstrap_diff(y, a, b, accuracy, block_length=7, n_resamples=300, seed=42)
    other = block_bootstrap_diff(y, a, b, accuracy, block_length=7, n_resamples=300, seed=43)
    assert one == two
    assert one["block_length"] == 7
    assert (one["low"], one["high"]) != (other["low"], other["high"])


def test_block_length_is_rounded_up_and_capped_at_a_quarter_of_the_days(monkeypatch):
    import arch.bootstrap
    import pandas as pd

    y, a, b = _case(seed=6, n=40)
    estimate = {"value": 3.2}

    def fake_optimal_block_length(x):
        return pd.DataFrame({"stationary": [estimate["value"]], "circular": [estimate["value"]]})

    monkeypatch.setattr(arch.bootstrap, "optimal_block_length", fake_optimal_block_length)
    assert block_bootstrap_diff(y, a, b, accuracy, n_resamples=50)["block_length"] == 4
    estimate["value"] = 37.0
    assert block_bootstrap_diff(y, a, b, accuracy, n_resamples=50)["block_length"] == 10
    estimate["value"] = float("nan")
    assert block_bootstrap_diff(y, a, b, accuracy, n_resamples=50)["block_length"] == 1


def strict_auc(y: np.ndarray, p: np.ndarray) -> float:
    """AUC that raises on one class (as older sklearn did; 1.9 warns and returns NaN)."""
    if len(set(y.tolist())) < 2:
        raise ValueError("Only one class present in y_true")
    return float(roc_auc_score(y, p))


@pytest.mark.parametrize("metric", [strict_auc, roc_auc_score], ids=["raises", "sklearn"])
def test_auc_on_resamples_with_one_class_does_not_crash(metric):
    rng = np.random.default_rng(7)
    y = np.zeros(40, dtype=np.int64)
    y[[3, 4]] = 1  # two positives next to each other: many block resamples miss them
    p_a = rng.random(40)
    p_b = rng.random(40)
    out = block_bootstrap_diff(y, p_a, p_b, metric, block_length=5, n_resamples=300, seed=0)
    assert 0 < out["n_valid"] < 300
    assert math.isfinite(out["low"]) and math.isfinite(out["p_value"])
    assert out["diff"] == pytest.approx(strict_auc(y, p_a) - strict_auc(y, p_b))


def test_holm_against_hand_computed_values():
    # sorted 0.01, 0.03, 0.04 -> 3*0.01, max(0.03, 2*0.03), max(0.06, 1*0.04)
    adjusted = holm({"x": 0.01, "y": 0.04, "z": 0.03})
    assert list(adjusted) == ["x", "y", "z"]
    assert adjusted["x"] == pytest.approx(0.03)
    assert adjusted["y"] == pytest.approx(0.06)
    assert adjusted["z"] == pytest.approx(0.06)
    # undefined entries pass through as None and are not part of the family
    with_gaps = holm({"x": 0.01, "gone": None, "nan": float("nan"), "z": 0.03})
    assert with_gaps == {
        "x": pytest.approx(0.02),
        "gone": None,
        "nan": None,
        "z": pytest.approx(0.03),
    }
    assert holm({"a": 0.6, "b": 0.7}) == {"a": pytest.approx(1.0), "b": pytest.approx(1.0)}
    assert holm({}) == {}


def test_seed_summary_uses_the_sample_std():
    assert seed_summary([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "n": 3}
    assert seed_summary([0.5]) == {"mean": 0.5, "std": None, "n": 1}
    assert seed_summary([]) == {"mean": None, "std": None, "n": 0}
