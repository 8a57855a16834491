"""Unit tests of the model pieces outside the networks and inputs: baselines, metrics and
decision cuts, labels and thresholds, out-of-sample rules and walk-forward cuts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models.baselines import DIRECTION_BASELINES, BaselineData
from models.metrics import abrupt_masks, decision_cut, fast_auc, fast_mcc, scores


def _data(r: np.ndarray) -> BaselineData:
    return BaselineData(r, (r >= 0).astype(np.int64), None, None)


def test_persistence_and_reversal_on_a_known_series() -> None:
    data = _data(np.array([0.0, 0.01, -0.02, 0.03, 0.01, -0.01]))
    test = np.array([2, 3, 4, 5])
    base = DIRECTION_BASELINES
    np.testing.assert_array_equal(base["Persistence"](data, np.array([1]), test), [1, 0, 1, 1])
    np.testing.assert_array_equal(base["Reversal"](data, np.array([1]), test), [0, 1, 0, 0])
    majority = base["Majority"](data, np.array([1, 2, 3]), test)
    np.testing.assert_allclose(majority, [2 / 3] * 4)
    # its cut makes it the majority class of the training days on every day
    cut = decision_cut(base["Majority"](data, np.array([1, 2, 3]), np.array([1, 2, 3])), [1, 0, 1])
    assert (majority >= cut).all()


def test_arima_forecasts_are_deterministic_and_use_only_the_past() -> None:
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.01, 300)
    train, test = np.arange(1, 200), np.arange(200, 300)
    a = DIRECTION_BASELINES["ARIMA(1,0,1)"](_data(r), train, test)
    later = r.copy()
    later[250:] = -later[250:] * 5
    b = DIRECTION_BASELINES["ARIMA(1,0,1)"](_data(later), train, test)
    np.testing.assert_array_equal(a[:51], b[:51])  # forecasts up to day 250 use data < 250
    assert ((a > 0) & (a < 1)).all() and a.std() > 0  # P(return >= 0), not a 0/1 call


def test_the_decision_cut_calls_as_often_as_the_training_labels_were_positive() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(1000)
    y = (rng.random(1000) < 0.2).astype(int)
    cut = decision_cut(p, y)
    assert abs(np.mean(p >= cut) - y.mean()) < 0.002
    # a constant score becomes the majority class: never positive at a 20% rate ...
    assert not (np.full(10, 0.3) >= decision_cut(np.full(10, 0.3), [1, 1] + [0] * 8)).any()
    # ... always positive at a 60% rate; a 0/1 rule keeps its calls
    assert (np.full(10, 0.6) >= decision_cut(np.full(10, 0.6), [1] * 6 + [0] * 4)).all()
    rule = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(rule >= decision_cut(rule, [1, 0, 1, 0, 1]), rule == 1)


def test_big_move_labels_use_a_threshold_fitted_on_training_days_only() -> None:
    from models.targets import TARGETS

    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))
    big = TARGETS["big_move"]
    train = np.arange(1, 300)
    q = big.fit_threshold(close, train)
    later = close.copy()
    later[300:] *= np.exp(np.cumsum(rng.normal(0, 0.05, 100)))  # a wild future
    assert big.fit_threshold(later, train) == q
    labels = big.labels(close, q)
    assert labels[0] == -1
    np.testing.assert_array_equal(labels[1:], np.abs(np.diff(np.log(close))) > q)
    assert labels[train].mean() == pytest.approx(0.2, abs=0.01)  # the 80th percentile
    assert TARGETS["next_day"].fit_threshold(close, train) is None
    with pytest.raises(ValueError, match="threshold"):
        big.labels(close)


def test_fast_metrics_equal_scikit_learn() -> None:
    from sklearn.metrics import matthews_corrcoef, roc_auc_score

    rng = np.random.default_rng(2)
    for _ in range(50):
        y = rng.integers(0, 2, 120)
        calls = rng.integers(0, 2, 120)
        p = np.round(rng.random(120), 2)  # with ties
        assert fast_mcc(y, calls) == pytest.approx(matthews_corrcoef(y, calls), abs=1e-12)
        assert fast_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert fast_mcc(np.ones(5), np.ones(5)) == 0.0
    assert np.isnan(fast_auc(np.ones(5), np.arange(5)))


def test_always_up_has_zero_mcc_and_flattering_f1() -> None:
    y = np.array([1, 1, 0, 1, 0, 1, 1, 0])
    s = scores(y, np.ones_like(y))
    assert s["mcc"] == 0.0 and s["balanced_accuracy"] == 0.5 and s["f1"] > 0.7


def test_abrupt_thresholds_come_from_training_days_only() -> None:
    close = np.r_[
        np.full(50, 100.0) * np.exp(np.cumsum(np.full(50, 0.001))), np.linspace(110, 200, 50)
    ]
    train, test = np.arange(2, 50), np.arange(52, 100)
    a = abrupt_masks(close, test, train)
    close2 = close.copy()
    close2[60:] *= 3
    b = abrupt_masks(close2, test, train)
    assert a["ex_post"]["threshold"] == b["ex_post"]["threshold"]


def test_a_version_is_out_of_sample_only_when_its_labels_precede_the_predicted_day() -> None:
    from models.targets import TARGETS

    d = dt.date.fromisoformat
    nxt, same = TARGETS["next_day"], TARGETS["same_day"]
    # next_day on D predicts the first trading day after D: labels up to D are allowed.
    assert not nxt.in_sample(d("2016-06-24"), d("2016-06-24"))
    assert nxt.in_sample(d("2016-06-27"), d("2016-06-24"))
    # same_day on D predicts D itself: labels must end before D.
    assert same.in_sample(d("2016-06-24"), d("2016-06-24"))
    assert not same.in_sample(d("2016-06-23"), d("2016-06-24"))
    assert same.in_sample(None, d("2016-06-24"))  # unknown cut: never claimed out of sample


def test_walk_forward_cuts_start_before_the_first_predicted_day() -> None:
    from app.services.walk_forward import walk_forward_cuts

    dates = list(pd.bdate_range("2014-12-01", "2015-12-31").date)
    cuts = walk_forward_cuts(dates, dt.date(2015, 1, 2), 63)
    assert dates[cuts[0]] == dt.date(2015, 1, 1)  # the last business day before the start
    assert all(b - a == 63 for a, b in zip(cuts, cuts[1:], strict=False))
    assert cuts[-1] < len(dates) - 1  # every cut has a day after it to predict
