"""next_close: the scores against the random walk, the DM test, the lag correlations, the
baselines' use of training days only, and run_regression end to end on a slice of DJIA."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest

from models.fitting import fit_window_model, predict_days
from models.kinds import implied_close
from models.networks import NetParams
from models.regression import (
    arima_returns,
    diebold_mariano,
    fit_arima_returns,
    lag_correlations,
    minmax_windows,
    regression_scores,
)
from models.targets import NEXT_CLOSE
from models.train import TrainConfig
from models.zoo import NEURAL_MODELS


def _walk(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))


def test_random_walk_has_u_one_and_truth_u_zero() -> None:
    close = _walk()
    prev, true = close[:-1], close[1:]
    rw = regression_scores(prev, true, prev)
    assert rw["theil_u"] == 1.0
    # the random walk calls "up" every day (pred >= prev): its accuracy is the share of
    # days that did not fall
    assert rw["direction_accuracy"] == pytest.approx(np.mean(true >= prev))
    perfect = regression_scores(prev, true, true)
    assert perfect["theil_u"] == 0.0 and perfect["rmse"] == 0.0 and perfect["mape"] == 0.0
    assert perfect["direction_accuracy"] == 1.0
    # MAPE in percent, by hand
    pred = prev * 1.01
    s = regression_scores(prev, true, pred)
    assert s["mape"] == pytest.approx(100 * np.mean(np.abs(true - pred) / np.abs(true)))
    assert s["rmse"] == pytest.approx(math.sqrt(np.mean((true - pred) ** 2)))


def test_direction_rule_for_zero_moves() -> None:
    prev = np.array([10.0, 10.0, 10.0, 10.0])
    true = np.array([10.0, 11.0, 9.0, 10.0])  # flat, up, down, flat
    pred = np.array([10.0, 10.5, 10.0, 9.5])  # flat (= up), up, flat (= up), down
    assert regression_scores(prev, true, pred)["direction_accuracy"] == 0.5


def test_dm_rejects_a_perfect_forecast_and_not_identical_errors() -> None:
    close = _walk(300)
    e_rw = close[1:] - close[:-1]
    stat, p = diebold_mariano(np.zeros_like(e_rw), e_rw)
    assert stat < -3 and p < 1e-3
    assert diebold_mariano(e_rw, e_rw.copy()) == (0.0, 1.0)
    # symmetric: swapping the forecasts flips the sign, keeps p
    rng = np.random.default_rng(1)
    other = e_rw + rng.normal(0, 0.5, len(e_rw))
    s1, p1 = diebold_mariano(other, e_rw)
    s2, p2 = diebold_mariano(e_rw, other)
    assert s1 == pytest.approx(-s2) and p1 == pytest.approx(p2)


def test_dm_matches_a_hand_computed_newey_west_statistic() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1.0, 250), rng.normal(0, 1.1, 250)
    d = a**2 - b**2
    n, lags = len(d), 3
    u = d - d.mean()
    lrv = u @ u / n + 2 * sum((1 - k / (lags + 1)) * (u[k:] @ u[:-k]) / n for k in range(1, 4))
    expected = d.mean() / math.sqrt(lrv / n)
    stat, _ = diebold_mariano(a, b, maxlags=lags, hln=False)
    assert stat == pytest.approx(expected, rel=1e-9)
    stat_hln, _ = diebold_mariano(a, b, maxlags=lags, hln=True)
    assert stat_hln == pytest.approx(expected * math.sqrt((n - 1) / n), rel=1e-9)


def test_lag_correlations_detect_a_forecast_that_repeats_yesterday() -> None:
    rng = np.random.default_rng(3)
    realised = rng.normal(0, 1, 500)
    lagging = np.r_[0.0, realised[:-1]]  # predicts today's change = yesterday's
    r = lag_correlations(lagging, realised)
    assert r["previous_day"] == pytest.approx(1.0)
    assert abs(r["same_day"]) < 0.15
    honest = lag_correlations(realised + rng.normal(0, 1, 500), realised)
    assert honest["same_day"] > 0.5 and abs(honest["previous_day"]) < 0.15
    assert math.isnan(lag_correlations(np.zeros(500), realised)["same_day"])


def test_minmax_scaler_sees_training_rows_only() -> None:
    close = _walk(300)
    fit_rows = np.zeros(300, bool)
    fit_rows[1:200] = True
    train_days = np.arange(60, 200)
    base = minmax_windows(close, fit_rows, train_days)
    spiked = close.copy()
    spiked[250] *= 10  # a test-period spike
    after = minmax_windows(spiked, fit_rows, train_days)
    np.testing.assert_array_equal(base.x, after.x)
    np.testing.assert_array_equal(base.y, after.y)
    assert base.x.min() >= 0 and base.x.max() <= 1
    # the window of day d holds closes d-60..d-1 and its target is close d
    np.testing.assert_allclose(base.inverse(base.x[0, :, 0]), close[0:60], rtol=1e-5)
    np.testing.assert_allclose(base.inverse(base.y[:1]), close[60:61], rtol=1e-5)
    # test days keep the training scaler: the spike leaves [0, 1]
    test = minmax_windows(spiked, fit_rows, np.arange(251, 260))
    assert test.x.max() > 1.5


def test_arima_parameters_come_from_training_days_only() -> None:
    returns = NEXT_CLOSE.values(_walk(500, seed=4))
    train, test = np.arange(5, 400), np.arange(400, 500)
    changed = returns.copy()
    changed[400:] = np.random.default_rng(5).normal(0, 0.05, 100)  # other test returns
    a, b = fit_arima_returns(returns, train), fit_arima_returns(changed, train)
    np.testing.assert_array_equal(a.params, b.params)
    fa, fb = arima_returns(returns, train, test), arima_returns(changed, train, test)
    # day 400 is forecast from returns before it, the same in both series
    assert fa[0] == pytest.approx(fb[0], rel=1e-10)
    assert not np.allclose(fa[1:], fb[1:])  # later days filter the test returns up to t-1
    # and a return on day t never moves the forecast of day t
    later = returns.copy()
    later[450] += 0.1
    np.testing.assert_allclose(
        arima_returns(later, train, test)[:51], arima_returns(returns, train, test)[:51]
    )


@pytest.mark.slow
def test_run_regression_on_a_slice_of_djia(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from evaluation.folds import EvalConfig
    from evaluation.regression import RegressionOptions, run_regression
    from evaluation.regression_report import plot_regression, render_regression
    from models.train import TrainConfig
    from tests.test_evaluate_harness import _djia

    prices = _djia()
    rng = np.random.default_rng(0)
    inputs = {"kg_events": rng.normal(size=(len(prices), 12)).astype(np.float32)}
    cfg = EvalConfig(
        train_end="2015-09-30",
        test_start="2015-10-01",
        test_end="2016-07-01",
        window=10,
        seeds=(0, 1),
        rolling_seeds=(0,),
        refit_every=100,
        models=("TCN", "KDTCN", "LSTM", "EB-TCN"),  # EB-TCN: its input is missing, skipped
        train=TrainConfig(epochs=2, patience=1),
        n_resamples=200,
        tune_trials=2,
        tune_models=("TCN",),
    )
    options = RegressionOptions(level_models=("LSTM",), level_window=20)
    result = run_regression((prices, inputs), cfg, say=lambda _: None, options=options)
    # next_close's own search, written for serving as the classifiers' are
    searched = result["tuning"]["next_close"]["TCN"]
    assert searched["metric"] == "theil_u" and searched["n_trials"] == 2
    from models.tuned import served_params, write_tuned

    write_tuned(result["tuning"], tuned_until=cfg.train_end, source="t", path=tmp_path / "t.json")
    net, _, why = served_params(
        "TCN", "next_close", dt.date(2016, 1, 4), TrainConfig(), path=tmp_path / "t.json"
    )
    assert dataclasses.asdict(net) == searched["net"] and why["metric"] == "theil_u"
    n = result["protocol"]["n_test_days"]
    assert n == int((prices.index >= "2015-10-01").sum())
    assert len(result["dates"]) == len(result["close"]) == len(result["close_prev"]) == n
    fixed = result["schemes"]["fixed_origin"]["models"]
    rolling = result["schemes"]["rolling_origin"]["models"]
    assert list(fixed) == [
        "Random walk",
        "ARIMA(1,0,1)",
        "TCN",
        "KDTCN",
        "LSTM",
        "TCN (wavelet-denoised)",
        "LSTM (min-max level)",
    ]
    assert list(rolling) == ["Random walk", "ARIMA(1,0,1)", "TCN", "KDTCN"]
    assert result["schemes"]["rolling_origin"]["n_folds"] == 2
    for scheme, block in result["schemes"].items():
        for name, row in block["models"].items():
            assert len(row["pred_close"]) == n, name
            assert row["metrics"]["n_days"] == n
            seeds = cfg.seeds if scheme == "fixed_origin" else cfg.rolling_seeds
            assert row["n_seeds"] == (1 if row["kind"] == "baseline" else len(seeds)), name
        rw = block["models"]["Random walk"]
        assert rw["metrics"]["theil_u"] == 1.0 and rw["dm"] == {"stat": 0.0, "p_value": 1.0}
        np.testing.assert_allclose(rw["pred_close"], result["close_prev"])
        # its line is yesterday's close: its change is the previous day's realised change
        assert rw["lag"]["previous_day"] == pytest.approx(1.0)
        assert abs(rw["lag"]["same_day"]) < 0.3 and rw["move_corr"] is None
    assert fixed["TCN"]["n_seeds"] == 2 and rolling["TCN"]["n_seeds"] == 1
    spread = fixed["TCN"]["per_seed"]["theil_u"]
    assert spread["n"] == 2 and spread["std"] is not None
    text = render_regression(result)
    assert text.count("| Random walk |") == 2 and "TCN (wavelet-denoised)" in text
    import json

    json.dumps(result, allow_nan=False)  # JSON-safe
    assert plot_regression(result, tmp_path / "r.png").stat().st_size > 10_000


def test_next_close_search_starts_from_the_defaults_and_reads_no_test_day() -> None:
    from evaluation.regression import tune_next_close
    from models.features import price_features
    from tests.test_evaluate_harness import _djia

    prices = _djia()
    rows = price_features(prices).to_numpy(np.float32)
    close = prices["adj_close"].to_numpy(float)
    train = np.arange(11, 500)

    def run(price_rows: np.ndarray, closes: np.ndarray, n_trials: int = 3):  # type: ignore[no-untyped-def]
        return tune_next_close(
            NEURAL_MODELS["TCN"],
            price_rows,
            None,
            closes,
            train,
            window=10,
            train=TrainConfig(epochs=2, patience=1),
            n_trials=n_trials,
            fold_days=60,
        )

    result = run(rows, close)
    assert result.metric == "theil_u" and result.n_trials == 3
    # the first trial is the hand-set configuration: a one-trial search returns it, scored
    # as the default of the longer search
    first = run(rows, close, n_trials=1)
    assert first.net == NetParams() and first.best == first.default == result.default
    assert 0.5 < result.default < 2.0  # a Theil U, not a loss on standardised returns
    assert all(f["first_validation_day"] + f["validation_days"] <= 500 for f in result.folds)
    rng = np.random.default_rng(0)
    later_rows, later_close = rows.copy(), close.copy()
    later_rows[500:] = rng.normal(size=later_rows[500:].shape) * 10
    later_close[500:] *= np.exp(np.cumsum(rng.normal(0, 0.05, len(close) - 500)))
    again = run(later_rows, later_close)
    assert again.to_dict() | {"seconds": 0} == result.to_dict() | {"seconds": 0}


def test_u_interval_is_a_paired_block_bootstrap_of_u_minus_one() -> None:
    from models.regression import theil_u_interval

    close = _walk(300, seed=6)
    prev, true = close[:-1], close[1:]
    noisy = true + np.random.default_rng(7).normal(0, 0.2, len(true))  # near-perfect
    ci = theil_u_interval(prev, true, noisy, n_resamples=300)
    u = regression_scores(prev, true, noisy)["theil_u"]
    assert ci["diff"] == pytest.approx(u - 1)
    assert ci["high"] < 0 and ci["p_value"] < 0.01
    same = theil_u_interval(prev, true, prev, n_resamples=100)
    assert same["diff"] == 0 and same["low"] == 0 and same["high"] == 0


def test_a_window_regressor_learns_an_autoregressive_return_out_of_sample() -> None:
    """fit_window_model with `values` (the fitting step of served next_close versions): on
    log returns with r[t] = 0.6 r[t-1] + noise, its out-of-sample predictions correlate
    with the realised returns, and its scale is the training days' mean and std."""
    rng = np.random.default_rng(0)
    n, cut = 900, 600
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = 0.6 * r[t - 1] + rng.normal(0, 0.01)
    close = 100 * np.exp(np.cumsum(r))
    values = NEXT_CLOSE.values(close)
    rows = np.nan_to_num(values)[:, None].astype(np.float32)
    fit_rows = np.arange(n) <= cut
    train_days = np.arange(21, cut + 1)
    fitted = fit_window_model(
        NEURAL_MODELS["TCN"],
        rows,
        None,
        NEXT_CLOSE.labels(close),
        fit_rows,
        train_days,
        window=20,
        rule=NEXT_CLOSE,
        train=TrainConfig(epochs=15, patience=4),
        seed=0,
        values=values,
    )
    assert fitted.value_scale == pytest.approx(
        (np.mean(values[train_days]), np.std(values[train_days]))
    )
    test = np.arange(cut + 1, n)
    predicted = predict_days(fitted, test)
    assert np.corrcoef(predicted, values[test])[0, 1] > 0.4
    # and the random walk's U of its implied closes is below 1
    scores = regression_scores(
        close[test - 1], close[test], implied_close(close[test - 1], predicted)
    )
    assert scores["theil_u"] < 0.95


def test_next_close_runs_each_network_once_and_kdtcn_without_its_equal_variant() -> None:
    """The fixed origin's networks with every input present: KDTCN's 1/rank-mean variant is
    KDTCN itself (not fitted twice), and the classifiers' ablations (pre-training, attention)
    are left out."""
    from evaluation.folds import EvalConfig
    from evaluation.regression import RegressionOptions, _networks

    inputs = {k: np.zeros((3, 2)) for k in ("kg_events", "events_nokg", "words", "sentences")}
    inputs |= {"vader": np.zeros((3, 2)), "kg_events+vader": np.zeros((3, 4))}
    names = [
        (n, d) for n, _, d in _networks("fixed_origin", inputs, EvalConfig(), RegressionOptions())
    ]
    assert ("KDTCN", False) in names and ("KDTCN (1/rank mean)", False) not in names
    assert len(names) == len(set(names))
    assert not {"KDTCN (attention)", "TCN (pre-trained)", "KDTCN (pre-trained)"} & {
        n for n, _ in names
    }
    assert ("TCN", True) in names  # the denoised TCN row
