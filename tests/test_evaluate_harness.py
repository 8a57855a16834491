"""The evaluation harness on a slice of the real DJIA prices (small config, fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.folds import EvalConfig
from evaluation.harness import run_evaluation
from evaluation.report import to_markdown
from evaluation.runs import neural_runs
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


def _big_move_config(models: tuple[str, ...]) -> EvalConfig:
    """A quick big_move run on the fixed origin: one seed, two epochs, no regression."""
    return EvalConfig(
        train_end="2015-09-30",
        test_start="2015-10-01",
        test_end="2016-07-01",
        window=10,
        seeds=(0,),
        targets=("big_move",),
        schemes=("fixed_origin",),
        models=models,
        train=TrainConfig(epochs=2, patience=1),
        n_resamples=50,
        regression=False,
    )


def test_neural_runs_counts_seeds_per_scheme() -> None:
    # the defaults: 3 seeds everywhere; on the fixed origin the 14 models of the TCN family
    # for every target and the 6 tutorial networks for next_day; TCN and KDTCN on the two
    # rolling schemes; KDTCN's variant chosen once per target
    fixed = 14 * 3 * 3 + 6 * 3
    assert neural_runs(EvalConfig()) == fixed + 3 * 2 * 3 * 2 + 3
    assert neural_runs(EvalConfig(tune_trials=5)) == fixed + 3 * 2 * 3 * 2 + 3 * 2 + 3
    assert neural_runs(EvalConfig(select_variant=False)) == fixed + 3 * 2 * 3 * 2
    lstm = EvalConfig(models=("LSTM",), seeds=(0,), rolling_models=("LSTM",))
    assert neural_runs(lstm) == 1 + 3 * 2  # next_day only: 1 seed fixed, 3 x 2 rolling
    assert neural_runs(EvalConfig(seeds=(0,), schemes=("fixed_origin",), models=("TCN",))) == 3
    assert neural_runs(EvalConfig(schemes=("rolling_window",), models=("TCN",))) == 3 * 3


def test_quick_harness_runs_every_scheme_on_the_same_days() -> None:
    prices = _djia()
    rng = np.random.default_rng(0)
    inputs = {
        "kg_events": rng.normal(size=(len(prices), 12)).astype(np.float32),
        "news": rng.integers(20, 26, len(prices)).astype(np.float64),
    }
    config = EvalConfig(
        train_end="2015-09-30",
        test_start="2015-10-01",
        test_end="2016-07-01",
        window=10,
        seeds=(0, 1),
        rolling_seeds=(0,),
        refit_every=100,
        window_years=1,
        models=("TCN", "KDTCN"),
        train=TrainConfig(epochs=2, patience=1),
        n_resamples=200,
        select_variant=False,  # one event input: nothing to choose from
    )
    reported: list[str] = []
    result = run_evaluation(prices, inputs, config=config, progress=reported.append)
    assert len(reported) == neural_runs(config) == 2 * 3 * (2 + 1 + 1)
    protocol = result["protocol"]
    test_days = protocol["n_test_days"]
    assert test_days == int((prices.index >= "2015-10-01").sum())
    for target in ("same_day", "next_day", "big_move"):
        for scheme in ("fixed_origin", "rolling_origin", "rolling_window"):
            block = result["results"][target][scheme]
            models = block["models"]
            assert block["n_days"] == test_days
            share = block["share_positive"]
            majority = "Base rate" if target == "big_move" else "Majority"
            assert models[majority]["kind"] == "baseline" and models["TCN"]["kind"] == "neural"
            # The majority rule on the same days: MCC 0, accuracy the share of its class.
            flat = models[majority]["ensemble"]["all"]
            assert flat["mcc"] == 0.0
            if scheme == "fixed_origin":  # one constant; refits change it between blocks
                assert flat["auc"] == 0.5
            assert min(abs(flat["accuracy"] - v) for v in (share, 1 - share)) < 1e-9
            if target == "big_move":
                assert {"HAR-LogReg", "GARCH(1,1)", "News volume"} <= set(models)
                # q is fitted per fold on its training days: about 20% of test days are big
                assert len(block["thresholds"]) == (1 if scheme == "fixed_origin" else 2)
                assert 0.05 < share < 0.5
            else:
                assert {"Persistence", "Reversal", "ARIMA(1,0,1)"} <= set(models)
                # Reversal is the mirror of persistence on every day.
                acc_p = models["Persistence"]["ensemble"]["all"]["accuracy"]
                assert models["Reversal"]["ensemble"]["all"]["accuracy"] == pytest.approx(1 - acc_p)
            tcn = models["TCN"]
            assert tcn["n_seeds"] == (2 if scheme == "fixed_origin" else 1)
            seeds_mcc = tcn["per_seed"]["all"]["mcc"]
            assert seeds_mcc["n"] == tcn["n_seeds"]
            assert (seeds_mcc["std"] is None) == (tcn["n_seeds"] == 1)
            assert "KDTCN - TCN" in block["bootstrap"]
            for ci in block["bootstrap"][f"KDTCN - {majority}"].values():
                assert ci["low"] <= ci["diff"] <= ci["high"]
                assert ci["p_value"] <= ci["p_holm"] <= 1.0 and ci["block_length"] >= 1
    assert protocol["holm_family"] == 3 * 3 * 4 * 2
    # Price-only models see the same windows for both direction targets (same predicted
    # days, same labels), so the harness fits them once for both.
    from models.features import price_features
    from models.targets import get_target
    from models.windows import make_windows

    rows = price_features(prices).to_numpy(np.float32)
    close = prices["adj_close"].to_numpy(float)
    cut = {
        t: make_windows(rows, None, get_target(t).labels(close), window=10, rule=get_target(t))
        for t in ("same_day", "next_day")
    }
    assert np.array_equal(cut["same_day"].x, cut["next_day"].x)
    assert np.array_equal(cut["same_day"].y, cut["next_day"].y)
    for scheme in ("fixed_origin", "rolling_origin"):
        same = result["results"]["same_day"][scheme]["models"]["TCN"]
        nxt = result["results"]["next_day"][scheme]["models"]["TCN"]
        assert same["ensemble"] == nxt["ensemble"]
        kdtcn = result["results"]["same_day"][scheme]["models"]["KDTCN"]
        assert (
            kdtcn["ensemble"]
            != result["results"]["next_day"][scheme]["models"]["KDTCN"]["ensemble"]
        )  # events are read one day later for same_day: not shared
    assert protocol["subsets"]["ex_post"]["n_days"] > 0
    markdown = to_markdown(result)
    for name in ("Majority", "ARIMA(1,0,1)", "HAR-LogReg", "GARCH(1,1)", "KDTCN", "ex ante"):
        assert name in markdown


def test_tuning_folds_lie_inside_the_training_days() -> None:
    from evaluation.tune import inner_plan

    train = np.arange(21, 1000)
    plan = inner_plan(train, n_folds=2, fold_days=126)
    assert [len(block) for _, block in plan] == [126, 126]
    assert plan[-1][1][-1] == train[-1]  # the last block ends on the last training day
    for fit, block in plan:
        assert set(block) <= set(train) and fit.max() < block[0] and fit[0] == train[0]


def test_tuning_starts_from_the_defaults_and_reads_no_test_day() -> None:
    from evaluation.tune import tune
    from models.features import price_features
    from models.targets import get_target
    from models.zoo import NEURAL_MODELS

    prices = _djia()
    rows = price_features(prices).to_numpy(np.float32)
    close = prices["adj_close"].to_numpy(float)
    train = np.arange(11, 500)

    def run(price_rows: np.ndarray, closes: np.ndarray):  # type: ignore[no-untyped-def]
        return tune(
            NEURAL_MODELS["TCN"],
            price_rows,
            None,
            closes,
            train,
            rule=get_target("big_move"),
            window=10,
            train=TrainConfig(epochs=2, patience=1),
            n_trials=3,
            fold_days=60,
        )

    result = run(rows, close)
    assert result.n_trials == 3 and result.to_dict()["best_mean_auc"] == result.best
    # The search's bookkeeping, recomputed outside it: the defaults' score is that of the
    # hand-set configuration on the same inner folds, the best's that of the chosen one.
    from evaluation.folds import make_folds
    from evaluation.tune import inner_plan, validation_auc
    from models.networks import NetParams

    folds = make_folds(get_target("big_move"), close, inner_plan(train, n_folds=2, fold_days=60))

    def score(net: NetParams, config: TrainConfig) -> float:
        return validation_auc(
            NEURAL_MODELS["TCN"],
            rows,
            None,
            folds,
            window=10,
            rule=get_target("big_move"),
            train=config,
            net=net,
        )

    assert score(NetParams(), TrainConfig(epochs=2, patience=1)) == result.default
    assert score(result.net, result.train) == result.best
    assert all(f["first_validation_day"] + f["validation_days"] <= 500 for f in result.folds)
    # Days after the training period changed beyond recognition: the same search, the
    # same choice (a seeded sampler, and nothing of those days read).
    rng = np.random.default_rng(0)
    later_rows, later_close = rows.copy(), close.copy()
    later_rows[500:] = rng.normal(size=later_rows[500:].shape) * 10
    later_close[500:] *= np.exp(np.cumsum(rng.normal(0, 0.05, len(close) - 500)))
    again = run(later_rows, later_close)
    assert again.to_dict() | {"seconds": 0} == result.to_dict() | {"seconds": 0}


def test_the_attention_row_pools_event_sets_inside_the_network() -> None:
    """`KDTCN (attention)` reads `kg_event_sets` (each day's events, stacked) and is reported
    like any network."""
    from models.inputs import EVENT_SLOTS, stack_events

    prices = _djia()
    rng = np.random.default_rng(0)
    sets = np.stack(
        [
            stack_events(rng.normal(size=(n, 4)), np.arange(1, n + 1), EVENT_SLOTS)
            for n in rng.integers(0, 40, len(prices))
        ]
    )
    config = _big_move_config(("TCN", "KDTCN (attention)"))
    inputs = {"kg_event_sets": sets, "news": rng.integers(20, 26, len(prices)).astype(float)}
    models = run_evaluation(prices, inputs, config=config)["results"]["big_move"]["fixed_origin"][
        "models"
    ]
    row = models["KDTCN (attention)"]
    assert row["kind"] == "neural" and row["n_seeds"] == 1
    assert 0.0 <= row["ensemble"]["all"]["auc"] <= 1.0
    assert row["ensemble"] != models["TCN"]["ensemble"]  # the event sets were read


def test_kdtcn_runs_the_variant_chosen_on_validation_folds() -> None:
    """KDTCN's variant (pooling, text channel) is chosen per target on folds inside the
    training period; the KDTCN row is that variant's fits, not a second run of them."""
    from models.inputs import EVENT_SLOTS, stack_events
    from models.zoo import KDTCN_VARIANTS

    prices = _djia()
    rng = np.random.default_rng(1)
    days = [rng.normal(size=(n, 4)).astype(np.float32) for n in rng.integers(0, 40, len(prices))]
    inputs = {
        "kg_events": np.stack([d.mean(axis=0) if len(d) else np.zeros(4) for d in days]),
        "kg_event_sets": np.stack(
            [stack_events(d, np.arange(1, len(d) + 1), EVENT_SLOTS) for d in days]
        ),
        "news": rng.integers(20, 26, len(prices)).astype(float),
    }
    config = _big_move_config(("KDTCN", *KDTCN_VARIANTS))
    reported: list[str] = []
    result = run_evaluation(prices, inputs, config=config, progress=reported.append)
    selection = result["selection"]["big_move"]
    # the VADER channel is absent, so two candidates were scored
    assert set(selection["validation_auc"]) == {"KDTCN (1/rank mean)", "KDTCN (attention)"}
    chosen = selection["chosen"]
    assert selection["validation_auc"][chosen] == max(selection["validation_auc"].values())
    models = result["results"]["big_move"]["fixed_origin"]["models"]
    assert models["KDTCN"]["ensemble"] == models[chosen]["ensemble"]
    assert models[chosen]["same_as"] == "KDTCN" and "same_as" not in models["KDTCN"]
    other = ({"KDTCN (1/rank mean)", "KDTCN (attention)"} - {chosen}).pop()
    assert models[other]["ensemble"] != models["KDTCN"]["ensemble"]
    assert len(reported) <= neural_runs(config)
    assert f"big_move KDTCN variant: {chosen}" in reported
