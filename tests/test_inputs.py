"""Unit tests of the model inputs: windows without look-ahead, normalisers fitted on the fitting
rows only, headlines assigned to trading days, event pooling and event sets, denoising."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from models.features import PRICE_FEATURES, Normaliser, price_features
from models.inputs import (
    NO_EVENT,
    DayEvents,
    assign_days,
    event_rows,
    event_set_rows,
    pool_events,
    rank_weights,
    set_normaliser,
    stack_events,
)
from models.targets import get_target
from models.windows import make_windows, wavelet_denoise, window_at, windows_at

NEXT_DAY = get_target("next_day")


def up_labels(prices: pd.DataFrame) -> np.ndarray:
    """The direction labels of every day (models.targets)."""
    return get_target("next_day").labels(prices["adj_close"].to_numpy(float))


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
def test_a_window_stack_cuts_what_windows_at_cuts(target: str) -> None:
    """make_windows keeps its windows as one table of rows (models.windows.WindowStack):
    every selection of them holds the values `windows_at` cuts, and a fit on the stack is
    the fit on the array, weight for weight."""
    import torch

    from models.networks import NetParams, SequenceClassifier
    from models.train import TrainConfig, fit_classifier, predict_outputs

    rule = get_target(target)
    prices = _prices(80)
    rows = price_features(prices).to_numpy(np.float32)
    events = np.random.default_rng(2).normal(size=(len(prices) + rule.event_shift, 6))
    w = make_windows(rows, events.astype(np.float32), up_labels(prices), window=10, rule=rule)
    cut = windows_at(rows, events.astype(np.float32), w.anchor, 10, rule).astype(np.float32)
    assert w.x.shape == cut.shape and not isinstance(w.x, np.ndarray)
    np.testing.assert_array_equal(np.asarray(w.x), cut)
    mask = w.anchor % 3 == 0
    np.testing.assert_array_equal(np.asarray(w.subset(mask).x), cut[mask])
    np.testing.assert_array_equal(np.asarray(w.x[5:9]), cut[5:9])
    np.testing.assert_array_equal(w.x[7], cut[7])
    np.testing.assert_array_equal(w.x[:, -1], cut[:, -1])

    def fit(x: object) -> SequenceClassifier:
        torch.manual_seed(0)
        net = SequenceClassifier(
            encoder="tcn", price_dim=rows.shape[1], event_dim=6, params=NetParams(levels=2)
        )
        windows = type(w)(x, w.y, w.anchor)  # type: ignore[arg-type]
        return fit_classifier(net, windows, config=TrainConfig(epochs=3, batch_size=8), seed=0)[0]

    on_stack, on_array = fit(w.x), fit(cut)
    for name, value in on_stack.state_dict().items():
        assert torch.equal(value, on_array.state_dict()[name]), name
    np.testing.assert_array_equal(predict_outputs(on_stack, w.x), predict_outputs(on_array, cut))


@pytest.mark.parametrize("target", ["same_day", "next_day"])
def test_windows_never_contain_the_labelled_move(target: str) -> None:
    prices = _prices()
    events = np.random.default_rng(1).normal(size=(len(prices), 3)).astype(np.float32)
    up = up_labels(prices)
    rows = price_features(prices).to_numpy(np.float32)
    w = make_windows(rows, events, up, window=10, rule=get_target(target))
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
    x2 = window_at(rows2, later_events, anchor, 10, get_target(target))
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
    pn, en, _ = normalised_windows(spec, prices, events, labels, mask, window=5, rule=NEXT_DAY)
    assert pn is not None and en is not None
    np.testing.assert_allclose(pn.mean, prices[1:40].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(en.std, events[1:40].std(axis=0), rtol=1e-6)
    prices[40:], events[40:], prices[0] = np.nan, 1e6, 1e6
    pn2, en2, _ = normalised_windows(spec, prices, events, labels, mask, window=5, rule=NEXT_DAY)
    assert pn2 is not None and en2 is not None
    assert np.array_equal(pn.mean, pn2.mean) and np.array_equal(pn.std, pn2.std)
    assert np.array_equal(en.mean, en2.mean) and np.array_equal(en.std, en2.std)
    restored = Normaliser.from_dict(pn.to_dict())
    assert np.array_equal(restored.mean, pn.mean) and np.array_equal(restored.std, pn.std)


def test_rank_pooling_weights_popular_headlines_more() -> None:
    w = rank_weights([1, 2, 4])
    assert np.isclose(w.sum(), 1) and w[0] > w[1] > w[2]
    vecs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert pool_events(vecs, [1, 3])[0] == pytest.approx(0.75)
    assert pool_events(np.zeros((0, 2)), []).tolist() == [0.0, 0.0]


def test_wavelet_denoising_is_causal_and_smooths() -> None:
    rng = np.random.default_rng(0)
    prices = _prices(80)
    rows = price_features(prices).to_numpy(np.float32).copy()
    rows[1:] = (rows[1:] - rows[1:].mean(0)) / rows[1:].std(0)
    up = up_labels(prices)
    w = make_windows(rows, None, up, window=16, rule=NEXT_DAY, denoise=True)
    later = rows.copy()
    later[50:] = rng.normal(size=later[50:].shape) * 50
    w2 = make_windows(later, None, up, window=16, rule=NEXT_DAY, denoise=True)
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
