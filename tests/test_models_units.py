"""Unit tests of the model pieces: causality, alignment without look-ahead, baselines, metrics."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from models.artifact import for_inference
from models.baselines import DIRECTION_BASELINES, BaselineData
from models.features import PRICE_FEATURES, Normaliser, price_features
from models.inputs import (
    NO_EVENT,
    DayEvents,
    assign_days,
    event_rows,
    event_set_rows,
    make_windows,
    pool_events,
    rank_weights,
    set_normaliser,
    stack_events,
    wavelet_denoise,
    window_at,
)
from models.metrics import abrupt_masks, decision_cut, fast_auc, fast_mcc, scores
from models.networks import ENCODERS, NetParams, SequenceClassifier
from models.targets import get_target
from models.tcn import TemporalConvNet, receptive_field


def up_labels(prices: pd.DataFrame) -> np.ndarray:
    """The direction labels of every day (models.targets)."""
    return get_target("next_day").labels(prices["adj_close"].to_numpy(float))


def test_tcn_is_causal() -> None:
    torch.manual_seed(0)
    net = TemporalConvNet(3, [8, 8, 8], kernel_size=3).eval()
    x = torch.randn(2, 3, 30)
    changed = x.clone()
    changed[:, :, 17:] = torch.randn(2, 3, 13) * 10
    with torch.no_grad():
        a, b = net(x), net(changed)
    assert torch.allclose(a[:, :, :17], b[:, :, :17], atol=1e-6)
    assert not torch.allclose(a[:, :, 17:], b[:, :, 17:])


def test_receptive_field_matches_the_network() -> None:
    torch.manual_seed(0)
    net = TemporalConvNet(2, [8, 8, 8], kernel_size=3).eval()
    rf = receptive_field(3, 3)
    assert rf == net.receptive_field == 29
    x = torch.randn(16, 2, 60, requires_grad=True)
    net(x)[:, :, -1].sum().backward()
    reach = x.grad.abs().sum(dim=(0, 1))
    assert torch.all(reach[: 60 - rf] == 0)  # outside the field: no influence
    assert torch.all(reach[60 - rf :] > 0)  # inside: every step counts


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_every_encoder_reads_only_the_past_window(encoder: str) -> None:
    torch.manual_seed(0)
    net = SequenceClassifier(encoder=encoder, price_dim=5, event_dim=12).eval()
    out = net(torch.randn(4, 20, 17))
    assert out.shape == (4,) and torch.isfinite(out).all()


def _prices(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    frame = pd.DataFrame(
        {
            "open": close * (1 + rng.normal(0, 0.002, n)),
            "close": close,
            "adj_close": close,
            "volume": rng.integers(1e6, 2e6, n),
        },
        index=pd.date_range("2015-01-01", periods=n, freq="B"),
    )
    frame["high"] = frame[["open", "close"]].max(axis=1) * 1.01
    frame["low"] = frame[["open", "close"]].min(axis=1) * 0.99
    return frame


@pytest.mark.parametrize("target", ["same_day", "next_day"])
def test_windows_never_contain_the_labelled_move(target: str) -> None:
    prices = _prices()
    events = np.random.default_rng(1).normal(size=(len(prices), 3)).astype(np.float32)
    up = up_labels(prices)
    rows = price_features(prices).to_numpy(np.float32)
    w = make_windows(rows, events, up, window=10, target=target)
    k = 25  # a sample in the middle; its label is the move of day anchor + 1
    anchor = int(w.anchor[k])
    assert w.y[k] == up[anchor + 1]
    moved = prices.copy()
    moved.iloc[anchor + 1 :, moved.columns.get_loc("adj_close")] *= 1.5  # the label day on
    moved.iloc[anchor + 1 :, moved.columns.get_loc("close")] *= 1.5
    later_events = events.copy()
    later_events[anchor + 2 :] += 100.0  # news after the label day
    if target == "next_day":
        later_events[anchor + 1 :] += 100.0  # next_day may not see the label day's news
    rows2 = price_features(moved).to_numpy(np.float32)
    x2 = window_at(rows2, later_events, anchor, 10, target)
    np.testing.assert_array_equal(w.x[k], x2)
    if target == "same_day":  # ...but same_day does read the label day's headlines
        assert np.array_equal(w.x[k][-1, len(PRICE_FEATURES) :], events[anchor + 1])


def test_a_folds_normalisers_read_only_its_fitting_rows() -> None:
    """normalised_windows fits price and event statistics on the rows of the fold's mask:
    rows outside it (the test block) can be anything, even NaN, without changing them."""
    from models.fitting import normalised_windows
    from models.zoo import NEURAL_MODELS

    rng = np.random.default_rng(3)
    prices = rng.normal(size=(60, 4)).astype(np.float32)
    events = rng.normal(size=(60, 3)).astype(np.float32)
    labels = (rng.random(60) > 0.5).astype(np.int64)
    mask = np.zeros(60, bool)
    mask[1:40] = True
    spec = NEURAL_MODELS["KDTCN"]
    pn, en, _ = normalised_windows(spec, prices, events, labels, mask, window=5, target="next_day")
    assert pn is not None and en is not None
    np.testing.assert_allclose(pn.mean, prices[1:40].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(en.std, events[1:40].std(axis=0), rtol=1e-6)
    prices[40:], events[40:], prices[0] = np.nan, 1e6, 1e6
    pn2, en2, _ = normalised_windows(
        spec, prices, events, labels, mask, window=5, target="next_day"
    )
    assert pn2 is not None and en2 is not None
    assert np.array_equal(pn.mean, pn2.mean) and np.array_equal(pn.std, pn2.std)
    assert np.array_equal(en.mean, en2.mean) and np.array_equal(en.std, en2.std)
    restored = Normaliser.from_dict(pn.to_dict())
    assert np.array_equal(restored.mean, pn.mean) and np.array_equal(restored.std, pn.std)


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


def test_rank_pooling_weights_popular_headlines_more() -> None:
    w = rank_weights([1, 2, 4])
    assert np.isclose(w.sum(), 1) and w[0] > w[1] > w[2]
    vecs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert pool_events(vecs, [1, 3])[0] == pytest.approx(0.75)
    assert pool_events(np.zeros((0, 2)), []).tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("n_in", "levels", "kernel", "steps"), [(8, 2, 3, 13), (5, 3, 2, 20), (6, 1, 3, 9)]
)
def test_the_unpadded_last_step_equals_the_full_forward_pass(
    n_in: int, levels: int, kernel: int, steps: int
) -> None:
    """TemporalConvNet.forward_last (eval: unpadded blocks over the receptive field) gives
    forward(x)[:, :, -1], with weight norms parametrised and folded as served; in training
    and on windows shorter than the receptive field it is the full pass."""
    torch.manual_seed(1)
    tcn = TemporalConvNet(n_in, [6] * levels, kernel_size=kernel).eval()
    x = torch.randn(7, n_in, steps)
    with torch.no_grad():
        full = tcn.forward(x)[:, :, -1]
        torch.testing.assert_close(tcn.forward_last(x), full, atol=1e-6, rtol=1e-5)
        short = x[:, :, -(tcn.receptive_field - 1) :]
        torch.testing.assert_close(tcn.forward_last(short), tcn.forward(short)[:, :, -1])
        for_inference(tcn)
        torch.testing.assert_close(tcn.forward_last(x), full, atol=1e-6, rtol=1e-5)
        tcn.train()
        torch.manual_seed(2)
        dropped = tcn.forward_last(x)  # training: the padded pass, with dropout
        assert dropped.shape == full.shape and not torch.allclose(dropped, full)


@pytest.mark.parametrize("levels", [1, 2])
def test_a_tcn_answer_reads_only_its_horizon(levels: int) -> None:
    """The steps before a TCN's horizon (its receptive field, at least the linear path's
    steps) cannot change its output: cropping the window to it gives the same output, and
    changing an earlier step changes nothing. Attribution relies on it."""
    torch.manual_seed(0)
    net = SequenceClassifier(
        encoder="tcn", price_dim=3, event_dim=5, params=NetParams(levels=levels), highway=4
    ).eval()
    horizon = net.horizon
    assert horizon is not None and horizon < 20
    x = torch.randn(8, 20, 8)
    with torch.no_grad():
        full = net(x)
        torch.testing.assert_close(net(x[:, -horizon:]), full, atol=1e-6, rtol=1e-5)
        earlier = x.clone()
        earlier[:, : 20 - horizon] = torch.randn(8, 20 - horizon, 8) * 10
        torch.testing.assert_close(net(earlier), full, atol=1e-6, rtol=1e-5)
        later = x.clone()
        later[:, 20 - horizon] += 5.0
        assert not torch.allclose(net(later), full, atol=1e-4)
    assert SequenceClassifier(encoder="lstm", price_dim=3, event_dim=0).horizon is None


def test_wavelet_denoising_is_causal_and_smooths() -> None:
    rng = np.random.default_rng(0)
    prices = _prices(80)
    rows = price_features(prices).to_numpy(np.float32).copy()
    rows[1:] = (rows[1:] - rows[1:].mean(0)) / rows[1:].std(0)
    up = up_labels(prices)
    w = make_windows(rows, None, up, window=16, target="next_day", denoise=True)
    later = rows.copy()
    later[50:] = rng.normal(size=later[50:].shape) * 50
    w2 = make_windows(later, None, up, window=16, target="next_day", denoise=True)
    early = w.anchor < 50
    np.testing.assert_allclose(w.x[early], w2.x[early], atol=1e-6)
    noisy = np.sin(np.linspace(0, 3, 32))[:, None] + rng.normal(0, 0.3, (32, 1))
    clean = wavelet_denoise(noisy.astype(np.float32))
    truth = np.sin(np.linspace(0, 3, 32))[:, None]
    assert np.abs(clean - truth).mean() < np.abs(noisy - truth).mean()
    # a 20-day window: the level is capped so that no coefficient is all boundary effect
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        short = wavelet_denoise(noisy[:20].astype(np.float32))
    assert short.shape == (20, 1) and not np.allclose(short, noisy[:20])
    with pytest.raises(ValueError, match="too short"):
        wavelet_denoise(noisy[:3].astype(np.float32))


def test_headlines_go_to_the_first_trading_day_on_or_after_their_date() -> None:
    d = dt.date.fromisoformat
    trading = [d("2016-06-23"), d("2016-06-24"), d("2016-06-27")]  # Thu, Fri, Mon
    news = ["2016-06-22", "2016-06-23", "2016-06-24", "2016-06-25", "2016-06-26", "2016-06-28"]
    got = assign_days([d(x) for x in news], trading).tolist()
    # Weekend news reaches Monday; news after the last trading day is dropped.
    assert got == [0, 0, 1, 2, 2, -1]
    # News on or before `since` (the day before the first trading day) is not wanted.
    assert assign_days([d(x) for x in news], trading, since=d("2016-06-22")).tolist()[:2] == [
        -1,
        0,
    ]


def test_event_rows_pool_each_day_and_drop_only_what_is_asked() -> None:
    rng = np.random.default_rng(0)
    days = [
        DayEvents(dt.date(2016, 1, 4 + i), list(range(n)), list(range(1, n + 1)), v)
        for i, (n, v) in enumerate(
            (n, rng.normal(size=(n, 3)).astype(np.float32)) for n in (2, 0, 3)
        )
    ]
    base = event_rows(days, 3, leading=2)
    assert base.shape == (5, 3) and not base[:2].any() and not base[3].any()
    np.testing.assert_allclose(base[4], pool_events(days[2].vectors, [1, 2, 3]), atol=1e-7)
    dropped = event_rows(days, 3, leading=2, drop={2: (0, 2)})
    np.testing.assert_allclose(dropped[4], days[2].vectors[1], atol=1e-6)
    np.testing.assert_array_equal(dropped[:4], base[:4])
    # Re-pooling only the touched day from `base` gives the same rows as pooling them all.
    np.testing.assert_array_equal(
        event_rows(days, 3, leading=2, drop={2: (0, 2)}, base=base), dropped
    )


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
    from app.services.training import walk_forward_cuts

    dates = list(pd.bdate_range("2014-12-01", "2015-12-31").date)
    cuts = walk_forward_cuts(dates, dt.date(2015, 1, 2), 63)
    assert dates[cuts[0]] == dt.date(2015, 1, 1)  # the last business day before the start
    assert all(b - a == 63 for a, b in zip(cuts, cuts[1:], strict=False))
    assert cuts[-1] < len(dates) - 1  # every cut has a day after it to predict


def test_a_seed_ensemble_round_trips_and_serves_the_mean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models.artifact import SavedConfig, load_artifact, save_artifact
    from models.train import predict_proba

    nets = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        nets.append(SequenceClassifier(encoder="tcn", price_dim=5, event_dim=0).eval())
    norm = Normaliser(np.zeros(5, np.float32), np.ones(5, np.float32))
    path = save_artifact(
        tmp_path / "v1",
        networks=nets,
        config=SavedConfig("TCN", "tcn", "next_day", window=20, price_dim=5, event_dim=0),
        price_norm=norm,
        event_norm=None,
        metrics={},
    )
    served = load_artifact(path)
    x = np.random.default_rng(0).normal(size=(8, 20, 5)).astype(np.float32)
    each = [predict_proba(net, x) for net in nets]
    assert len(served.networks) == 2 and not np.allclose(each[0], each[1])
    np.testing.assert_allclose(served.predict(x), (each[0] + each[1]) / 2, atol=1e-6)


def test_a_day_s_event_set_keeps_its_most_popular_events_with_their_prior() -> None:
    vectors = np.arange(12, dtype=np.float32).reshape(4, 3)
    ranks = [5, 1, 9, 1]
    cells = stack_events(vectors, ranks, slots=3).reshape(3, 4)
    # ranks 1, 1 (in their order) and 5; the rank-9 event is left out
    np.testing.assert_array_equal(cells[:, :3], vectors[[1, 3, 0]])
    np.testing.assert_allclose(np.exp(cells[:, 3]), rank_weights([1, 1, 5]), rtol=1e-6)
    empty = stack_events(vectors[:1], [2], slots=3).reshape(3, 4)
    assert empty[0, 3] == 0.0 and (empty[1:, :3] == 0).all() and (empty[1:, 3] == NO_EVENT).all()
    day = DayEvents(dt.date(2016, 6, 24))
    rows = event_set_rows([day], 3, slots=2)
    assert rows.shape == (1, 8) and (rows.reshape(2, 4)[:, 3] == NO_EVENT).all()


def test_the_set_normaliser_learns_from_real_events_only() -> None:
    rng = np.random.default_rng(0)
    rows = np.stack(
        [stack_events(rng.normal(5.0, 2.0, (n, 4)), range(1, n + 1), 8) for n in (3, 8, 0, 5)]
    )
    norm = set_normaliser(rows, 8)
    real = np.concatenate([r.reshape(8, 5) for r in rows])
    real = real[real[:, 4] > NO_EVENT / 2, :4]
    np.testing.assert_allclose(norm.mean.reshape(8, 5)[0, :4], real.mean(axis=0), rtol=1e-5)
    out = norm.transform(rows).reshape(4, 8, 5)
    assert (out[..., 4] == rows.reshape(4, 8, 5)[..., 4]).all()  # priors untouched
    assert abs(float(out[1, :, :4].mean())) < 1.0  # real events centred


def test_attention_pooling_starts_as_the_rank_mean_and_learns() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    days = [rng.normal(size=(n, 6)).astype(np.float32) for n in (4, 0, 7)]
    ranks = [list(rng.permutation(n) + 1) for n in (4, 0, 7)]
    rows = np.stack([stack_events(v, r, 8) for v, r in zip(days, ranks, strict=True)])
    x = torch.from_numpy(np.concatenate([np.zeros((3, 2), np.float32), rows], 1))[None]
    net = SequenceClassifier(encoder="tcn", price_dim=2, event_dim=rows.shape[1], event_slots=8)
    pooled, weights = net.attention(x)
    for j, (v, r) in enumerate(zip(days, ranks, strict=True)):
        np.testing.assert_allclose(pooled[0, j].detach().numpy(), pool_events(v, r), atol=1e-5)
    assert float(weights[0, 0, 4:].detach().sum()) < 1e-9  # empty slots get nothing
    assert float(pooled[0, 1].detach().abs().sum()) == 0.0  # a day without events: zeros
    net(x).sum().backward()
    assert net.attend is not None and float(net.attend[2].weight.grad.abs().sum()) > 0
