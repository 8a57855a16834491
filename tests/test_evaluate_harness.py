"""The evaluation harness on a slice of the real DJIA prices (small config, fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.eval_runs import neural_runs
from models.evaluate import EvalConfig, run_evaluation
from models.report import to_markdown
from models.train import TrainConfig
from tests.conftest import DATA_DIR


def _djia() -> pd.DataFrame:
    frame = pd.read_csv(DATA_DIR / "djia_reddit" / "DJIA_table.csv.gz", parse_dates=["Date"])
    frame = frame.rename(
        columns={
            "Date": "date",
            "Open": "open",
            "High": "high",
            "Low": "low",
            "Close": "close",
            "Adj Close": "adj_close",
            "Volume": "volume",
        }
    )
    return frame.sort_values("date").set_index("date").loc["2014-01-01":]


def test_neural_runs_counts_seeds_per_scheme() -> None:
    # the defaults: 11 models x 2 targets x (5 seeds fixed origin + 2 seeds x 2 rolling schemes)
    assert neural_runs(EvalConfig()) == 11 * 2 * (5 + 2 * 2)
    assert neural_runs(EvalConfig(seeds=(0,), schemes=("fixed_origin",), models=("TCN",))) == 2
    assert neural_runs(EvalConfig(schemes=("rolling_window",), models=("TCN",))) == 2 * 2


def test_quick_harness_runs_every_scheme_on_the_same_days() -> None:
    prices = _djia()
    rng = np.random.default_rng(0)
    inputs = {"kg_events": rng.normal(size=(len(prices), 12)).astype(np.float32)}
    config = EvalConfig(
        train_end="2015-09-30",
        test_start="2015-10-01",
        test_end="2016-07-01",
        window=10,
        seeds=(0, 1),
        rolling_seeds=(0,),
        refit_every=200,
        window_years=1,
        models=("TCN", "KDTCN"),
        train=TrainConfig(epochs=2, patience=1),
    )
    reported: list[str] = []
    result = run_evaluation(prices, inputs, config=config, progress=reported.append)
    assert len(reported) == neural_runs(config) == 2 * 2 * (2 + 1 + 1)
    protocol = result["protocol"]
    test_days = protocol["n_test_days"]
    assert test_days == int((prices.index >= "2015-10-01").sum())
    for target in ("same_day", "next_day"):
        for scheme in ("fixed_origin", "rolling_origin", "rolling_window"):
            block = result["results"][target][scheme]
            models = block["models"]
            assert {"Majority", "Persistence", "Reversal", "ARIMA(1,0,1)", "TCN", "KDTCN"} <= set(
                models
            )
            # Majority on the same days: its accuracy is the share of its class in the test.
            share_up = protocol["test_share_up"]
            majority = models["Majority"]["all"]
            assert majority["mcc"]["mean"] == 0.0
            assert (
                min(abs(majority["accuracy"]["mean"] - v) for v in (share_up, 1 - share_up)) < 1e-9
            )
            # Reversal is the mirror of persistence on every day.
            acc_p = models["Persistence"]["all"]["accuracy"]["mean"]
            assert models["Reversal"]["all"]["accuracy"]["mean"] == pytest.approx(1 - acc_p)
            assert models["TCN"]["n_seeds"] == (2 if scheme == "fixed_origin" else 1)
            assert "KDTCN - TCN" in block["bootstrap"]
            ci = block["bootstrap"]["KDTCN - Majority"]["mcc"]
            assert ci["low"] <= ci["diff"] <= ci["high"]
    # Price-only models see the same windows for both targets (same predicted days), and
    # a seed fixes the initial weights and the batches: identical results.
    for scheme in ("fixed_origin", "rolling_origin"):
        same = result["results"]["same_day"][scheme]["models"]["TCN"]["all"]
        nxt = result["results"]["next_day"][scheme]["models"]["TCN"]["all"]
        assert same == nxt
    assert protocol["subsets"]["ex_post"]["n_days"] > 0
    markdown = to_markdown(result)
    for name in ("Majority", "ARIMA(1,0,1)", "TCN", "KDTCN", "ex ante", "ex post"):
        assert name in markdown
