"""Baselines of the big_move target on simulated GARCH returns (no database, no torch)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.vol_baselines import BIG_MOVE_BASELINES, BaselineData, garch_sigma

N_DAYS = 1500
TRAIN_END = 1000  # train on days 1..999, test on 1000..1499


def _simulate(seed: int, *, omega=0.02, alpha=0.10, beta=0.88, nu=6.0) -> np.ndarray:
    """Daily log returns of a GARCH(1,1) with standardised t errors (in % before / 100)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(nu, N_DAYS) / np.sqrt(nu / (nu - 2))
    r = np.empty(N_DAYS)
    s2, prev = omega / (1 - alpha - beta), 0.0
    for t in range(N_DAYS):
        s2 = omega + alpha * prev**2 + beta * s2
        prev = np.sqrt(s2) * z[t]
        r[t] = prev
    r = r / 100.0
    r[0] = np.nan
    return r


def _data(returns: np.ndarray, news: np.ndarray | None, train: np.ndarray) -> BaselineData:
    q = float(np.quantile(np.abs(returns[train]), 0.8))
    labels = np.full(len(returns), -1, dtype=np.int64)
    labels[1:] = (np.abs(returns[1:]) > q).astype(np.int64)
    return BaselineData(returns=returns, labels=labels, threshold=q, news=news)


@pytest.fixture(scope="module")
def sim():
    returns = _simulate(seed=11)
    rng = np.random.default_rng(12)
    news = rng.poisson(20, N_DAYS).astype(np.float64)
    train = np.arange(1, TRAIN_END)
    return _data(returns, news, train), train


def test_every_baseline_returns_probabilities_for_every_day(sim):
    data, train = sim
    days = np.arange(1, N_DAYS)
    for name, fn in BIG_MOVE_BASELINES.items():
        p = fn(data, train, days)
        assert p.shape == (len(days),), name
        assert p.dtype == np.float64, name
        assert np.all(np.isfinite(p)), name
        assert np.all((p >= 0.0) & (p <= 1.0)), name
    # a subset of days gives the same numbers as the full run at those days
    sub = np.array([5, 30, 999, 1000, 1200, 1499])
    for name, fn in BIG_MOVE_BASELINES.items():
        np.testing.assert_allclose(
            fn(data, train, sub), fn(data, train, days)[sub - 1], err_msg=name
        )


@pytest.mark.parametrize("name", list(BIG_MOVE_BASELINES))
def test_no_look_ahead(sim, name):
    """Changing returns and news of day t and later leaves the prediction of day t unchanged,
    for test days t after the training span (where nothing is fitted on day t's data)."""
    data, train = sim
    fn = BIG_MOVE_BASELINES[name]
    days = np.arange(TRAIN_END, N_DAYS)
    base = fn(data, train, days)
    rng = np.random.default_rng(3)
    for cut in (TRAIN_END, TRAIN_END + 1, 1123, N_DAYS - 1):
        returns = data.returns.copy()
        news = data.news.copy()
        # large, volatile changes: any leak of day >= cut would move the prediction
        returns[cut:] = rng.standard_normal(N_DAYS - cut) * 0.08
        news[cut:] = rng.poisson(500, N_DAYS - cut)
        changed = BaselineData(returns, data.labels, data.threshold, news)
        p = fn(changed, train, days)
        at = days <= cut
        np.testing.assert_array_equal(p[at], base[at], err_msg=f"{name}, cut {cut}")
        if name not in ("Base rate", "News volume") and cut < N_DAYS - 1:
            # the change is visible from the next day on, so the test could fail
            assert not np.array_equal(p[~at], base[~at]), f"{name} ignores returns"
    # and for News volume, that news is read at all
    if name == "News volume":
        news = data.news.copy()
        news[1100:] *= 40
        p = fn(BaselineData(data.returns, data.labels, data.threshold, news), train, days)
        assert not np.array_equal(p[days > 1100], base[days > 1100])


def test_persistence_reads_only_the_previous_day_inside_training_span(sim):
    data, train = sim
    days = np.arange(1, 300)
    base = BIG_MOVE_BASELINES["Big-move persistence"](data, train, days)
    returns = data.returns.copy()
    returns[150:] = 1.0  # every later move is huge
    p = BIG_MOVE_BASELINES["Big-move persistence"](
        BaselineData(returns, data.labels, data.threshold, data.news), train, days
    )
    np.testing.assert_array_equal(p[days <= 150], base[days <= 150])
    assert np.all(p[days > 150] > 0.99)


def test_volatility_baselines_beat_the_base_rate_out_of_sample():
    """On a series with real volatility clustering the volatility models rank later days."""
    returns = _simulate(seed=21)
    train = np.arange(1, TRAIN_END)
    data = _data(returns, None, train)
    test = np.arange(TRAIN_END, N_DAYS)
    y = data.labels[test]
    assert 0.1 < y.mean() < 0.5  # both classes present, threshold from training days
    auc = {
        name: roc_auc_score(y, BIG_MOVE_BASELINES[name](data, train, test))
        for name in ("Base rate", "HAR-LogReg", "GARCH(1,1)")
    }
    assert auc["Base rate"] == 0.5
    assert auc["HAR-LogReg"] > 0.6, auc
    assert auc["GARCH(1,1)"] > 0.6, auc


def test_volatility_baselines_are_uninformative_without_clustering():
    """Control: i.i.d. returns (alpha = beta = 0) give AUC near 0.5, so the test above
    measures clustering and not an artefact of the set-up."""
    returns = _simulate(seed=22, omega=1.0, alpha=0.0, beta=0.0)
    train = np.arange(1, TRAIN_END)
    data = _data(returns, None, train)
    test = np.arange(TRAIN_END, N_DAYS)
    for name in ("HAR-LogReg", "GARCH(1,1)"):
        auc = roc_auc_score(data.labels[test], BIG_MOVE_BASELINES[name](data, train, test))
        assert abs(auc - 0.5) < 0.08, (name, auc)


def test_garch_filter_matches_arch_with_frozen_parameters(sim):
    """The continuation after the training span is arch's own filter with the fitted
    parameters fixed, run over the whole span."""
    from arch import arch_model

    data, train = sim
    sigma, res = garch_sigma(data.returns, train, N_DAYS - 1)
    full = arch_model(data.returns[1:] * 100, mean="Constant", vol="GARCH", p=1, q=1, dist="t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = full.fix(res.params)
    arch_sigma = np.full(N_DAYS, np.nan)
    arch_sigma[1:] = np.asarray(fixed.conditional_volatility)
    # after the training span: the same filter to rounding
    np.testing.assert_allclose(sigma[TRAIN_END:], arch_sigma[TRAIN_END:], rtol=1e-9)
    # inside it, only the start value differs a little (arch's fit takes its backcast from
    # residuals around the sample mean, `fix` from residuals around the fitted mu); it decays
    np.testing.assert_allclose(sigma[1:TRAIN_END], arch_sigma[1:TRAIN_END], rtol=1e-3)
    assert np.isnan(sigma[0])


def test_garch_probability_grows_with_the_last_shock(sim):
    data, train = sim
    day = np.array([1200])
    calm, wild = data.returns.copy(), data.returns.copy()
    calm[1199], wild[1199] = 0.0, 0.06
    p = [
        BIG_MOVE_BASELINES["GARCH(1,1)"](
            BaselineData(r, data.labels, data.threshold, None), train, day
        )[0]
        for r in (calm, wild)
    ]
    assert p[1] > p[0] + 0.2


def test_news_volume_needs_news(sim):
    data, train = sim
    no_news = BaselineData(data.returns, data.labels, data.threshold, None)
    with pytest.raises(ValueError, match="news"):
        BIG_MOVE_BASELINES["News volume"](no_news, train, np.arange(1000, 1010))


@pytest.mark.parametrize("name", ["Big-move persistence", "GARCH(1,1)"])
def test_threshold_is_required(sim, name):
    data, train = sim
    no_q = BaselineData(data.returns, data.labels, None, data.news)
    with pytest.raises(ValueError, match="threshold"):
        BIG_MOVE_BASELINES[name](no_q, train, np.arange(1000, 1010))


def test_base_rate_ignores_undefined_labels(sim):
    data, train = sim
    labels = data.labels.copy()
    labels[1:500] = -1
    p = BIG_MOVE_BASELINES["Base rate"](
        BaselineData(data.returns, labels, data.threshold, data.news), train, np.arange(1000, 1003)
    )
    np.testing.assert_allclose(p, labels[500:TRAIN_END].mean())
