"""End to end on a slice of the real data: backtests over real HTTP against the raw Kaggle
table, served answers and the evaluation harness, on the e2e world
(tests.worlds.build_e2e_world)."""

from __future__ import annotations

import datetime as dt

import httpx
import numpy as np
import pytest

from app.services.daily import collect_days
from app.services.prices import load_prices
from app.settings import PROJECT_ROOT
from models.features import price_features
from models.inputs import event_rows
from models.targets import get_target
from models.train import TrainConfig
from models.zoo import NEURAL_MODELS
from tests.worlds import BREXIT, FIRST_CUT

pytestmark = pytest.mark.slow


def test_backtest_figures_agree_with_a_recount_of_its_days(client) -> None:  # type: ignore[no-untyped-def]
    params = {"start": "2016-04-01", "end": "2016-07-01", "target": "next_day", "cost_bps": 5}
    resp = client.get("/v1/backtest/DJIA", params=params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    days = body["days"]
    assert body["n_days"] == len(days) >= 60 and body["in_sample_days"] == 0
    assert all(d["train_until"] <= d["asked"] < d["date"] for d in days)
    assert len({d["version"] for d in days}) == len(body["versions"]) >= 3
    assert all((d["call"] == "up") == (d["p_up"] >= d["decision_cut"]) for d in days)
    assert body["cost_bps"] == 5
    assert body["news_timing"] == "dates only" and body["tradable"] is False
    assert "asked date's close" in body["timing_note"]
    # Each day's outcome from the raw Kaggle table, not from the backtest's own fields...
    import pandas as pd

    raw = pd.read_csv(PROJECT_ROOT / "data" / "djia_reddit" / "DJIA_table.csv.gz")
    adj = raw.set_index("Date")["Adj Close"].sort_index()
    realised = adj.pct_change()
    for d in days:
        assert d["return"] == pytest.approx(realised[d["date"]], rel=1e-9, abs=1e-12)
        assert d["up"] == (adj[d["date"]] >= adj.shift(1)[d["date"]])
    # ...and each day's prediction is the answer the API serves for its asked date.
    for d in days[:: len(days) // 4]:
        served = client.get("/v1/predictions/DJIA", params={"date": d["asked"]}).json()
        assert served["p_up"] == pytest.approx(d["p_up"], abs=1e-6)
        assert served["model"]["version"] == d["version"]
    hits = np.mean([(d["call"] == "up") == d["up"] for d in days])
    assert body["classification"]["model"]["hit_rate"] == pytest.approx(hits)
    share_up = np.mean([d["up"] for d in days])
    assert body["classification"]["always_up"]["hit_rate"] == pytest.approx(share_up)
    ls = body["strategy"]["long_short"]
    assert ls["cumulative_return"] == pytest.approx(
        np.prod([1 + d["long_short_return"] for d in days]) - 1, abs=1e-9
    )
    # Net of costs: each day is +-return minus 5 bp per unit of position changed.
    position = 0
    for d in days:
        new = 1 if d["call"] == "up" else -1
        gross = new * d["return"]
        assert d["long_short_return"] == pytest.approx(gross - 5e-4 * abs(new - position))
        position = new
    bh = body["strategy"]["buy_and_hold"]
    assert bh["cumulative_return"] == pytest.approx(
        (1 - 5e-4 + days[0]["return"]) * np.prod([1 + d["return"] for d in days[1:]]) - 1
    )
    hits = _backtest_cache_hits(client)
    png = client.get("/v1/backtest/DJIA/equity.png", params=params)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # The chart reused the cached backtest of the same range.
    assert _backtest_cache_hits(client) == hits + 1
    no_cost = {k: v for k, v in params.items() if k != "cost_bps"}
    default = client.get("/v1/backtest/DJIA", params=no_cost).json()
    assert default["cost_bps"] == 5  # the API's default is the CLI's (the same cached backtest)
    same = client.get("/v1/backtest/DJIA", params={**params, "target": "same_day"}).json()
    assert same["strategy"] is None and "not traded" in same["note"]
    bad = client.get("/v1/backtest/DJIA", params={**params, "end": "2016-03-01"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "end"
    early = client.get("/v1/backtest/DJIA", params={**params, "start": "2016-02-01"})
    assert early.status_code == 409 and "--walk-forward" in early.json()["detail"]


def test_backtest_and_the_rolling_origin_evaluation_are_one_harness(built, client) -> None:  # type: ignore[no-untyped-def]
    """The served walk-forward chain and `kdtcn evaluate`'s rolling origin, with the same
    model, seed and refit dates, give the same predictions."""
    import pandas as pd

    from evaluation.folds import EvalConfig, fold_calls, make_folds, scheme_days, scheme_predictions
    from models.tuned import served_params

    server, factory = built
    params = {"start": "2016-04-01", "end": "2016-07-01", "target": "same_day"}
    served = client.get("/v1/backtest/DJIA", params=params).json()["days"]
    with factory() as session:
        prices = load_prices(session=session, symbol="DJIA")
        dates = [d.date() for d in prices.index]
        loaded = server.app.state.registry.get(
            session=session, symbol="DJIA", rule=get_target("same_day"), date=dt.date(2016, 6, 24)
        )
        embedder = loaded.embedder
        days = collect_days(session=session, dates=dates, embed=embedder.embed, dim=embedder.dim)
    cfg = EvalConfig(
        train_end=str(FIRST_CUT),
        test_start="2016-04-01",
        test_end="2016-07-01",
        window=20,
        refit_every=21,
        train=TrainConfig(epochs=6, patience=3),
    )
    index = pd.DatetimeIndex(prices.index)
    all_days = np.arange(cfg.window + 1, len(dates))
    train_days = all_days[index[all_days] <= pd.Timestamp(cfg.train_end)]
    test_days = all_days[index[all_days] >= pd.Timestamp(cfg.test_start)]
    plan = scheme_days("rolling_origin", test_days, all_days, train_days, index, cfg)
    folds = make_folds(get_target("same_day"), prices["adj_close"].to_numpy(float), plan)
    net, train, _ = served_params("KDTCN", "same_day", FIRST_CUT, cfg.train)
    runs = scheme_predictions(
        NEURAL_MODELS["KDTCN"],
        price_features(prices).to_numpy(np.float32),
        event_rows(days, embedder.dim),
        folds,
        scheme="rolling_origin",
        cfg=cfg,
        rule=get_target("same_day"),
        seed=0,
        # the hyper-parameters every served version after the search's last day uses
        net=net,
        train=train,
    )
    assert [d["date"] for d in served] == [str(dates[t]) for t in test_days]
    probs = np.concatenate([p_test for _, p_test in runs])
    np.testing.assert_allclose([d["p_up"] for d in served], probs, atol=1e-5)
    # and the same calls: each fold's cut chosen on its training days, as each version's
    _, calls, _ = fold_calls(folds, runs)
    assert [d["call"] == "up" for d in served] == calls.astype(bool).tolist()


def test_big_move_is_served_with_its_threshold_and_backtested(client) -> None:  # type: ignore[no-untyped-def]
    """big_move: P(|log return| of the next trading day > q), q fitted on the version's
    training days and stored with it; the backtest labels each day with the q of the
    version that answered it."""
    resp = client.get("/v1/predictions/DJIA", params={"date": BREXIT, "target": "big_move"})
    assert resp.status_code == 200, resp.text
    p = resp.json()
    q = p["label_threshold"]
    assert 0.003 < q < 0.03 and p["model"]["metrics"]["label_threshold"] == q
    assert p["p_up"] is None and p["direction"] is None
    assert p["call"] == ("big" if p["p"] >= p["decision_cut"] else "calm")
    assert f"{q:.4f}" in p["outcome"] and not p["in_sample"]
    assert p["data"]["prices_to"] == BREXIT  # the inputs of next_day
    params = {"start": "2016-04-01", "end": "2016-07-01", "target": "big_move"}
    body = client.get("/v1/backtest/DJIA", params=params).json()
    assert body["strategy"] is None and "size of a move" in body["note"]
    thresholds = {v["version"]: v["label_threshold"] for v in body["versions"]}
    for d in body["days"]:
        assert d["label"] == (abs(np.log1p(d["return"])) > thresholds[d["version"]])
        assert d["call"] == ("big" if d["p"] >= d["decision_cut"] else "calm")
    figures = body["classification"]
    assert set(figures) == {"model", "never_big", "persistence"}
    share = np.mean([d["label"] for d in body["days"]])
    assert figures["never_big"]["accuracy"] == pytest.approx(1 - share)
    explanation = client.get(
        "/v1/explanations/DJIA", params={"date": BREXIT, "target": "big_move"}
    ).json()
    assert explanation["prediction"]["p"] == pytest.approx(p["p"], abs=1e-6)
    assert explanation["events"]


def test_next_close_answers_a_price_with_its_interval_and_is_backtested(client) -> None:  # type: ignore[no-untyped-def]
    """next_close: the predicted close of the first trading day after D and an 80% interval
    from the version's training residuals; the backtest scores the closes against the
    random walk, and explanation effects are in price units."""
    resp = client.get("/v1/predictions/DJIA", params={"date": BREXIT, "target": "next_close"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    price = body["price"]
    assert body["p"] is None and body["p_up"] is None and not body["in_sample"]
    assert price["previous_close"] == pytest.approx(17400.75, abs=0.01)  # D's adjusted close
    r = price["predicted_log_return"]
    assert price["predicted_close"] == pytest.approx(17400.75 * np.exp(r), rel=1e-6)
    assert price["low"] < price["predicted_close"] < price["high"]
    assert body["call"] == body["direction"] == ("up" if r >= 0 else "down")
    interval = body["model"]["metrics"]["interval"]
    assert interval["level"] == price["interval_level"] == 0.8
    assert interval["low"] < 0 < interval["high"]
    assert price["low"] == pytest.approx(17400.75 * np.exp(r + interval["low"]), rel=1e-6)
    # the level is nominal (in-sample residuals); the answer carries the measured coverage
    assert price["interval_basis"].startswith("in-sample residuals")
    oos = body["model"]["metrics"]["out_of_sample"]
    assert oos is not None and price["measured_coverage"] == round(oos["interval_coverage"], 4)

    params = {"start": "2016-04-01", "end": "2016-07-01", "target": "next_close"}
    bt = client.get("/v1/backtest/DJIA", params=params).json()
    days = bt["days"]
    close = np.array([d["close"] for d in days])
    prev = close / (1 + np.array([d["return"] for d in days]))
    pred = np.array([d["predicted_close"] for d in days])
    rmse = float(np.sqrt(np.mean((pred - close) ** 2)))
    figures = bt["regression"]
    assert figures["rmse"] == pytest.approx(rmse, rel=1e-6)
    assert figures["theil_u"] == pytest.approx(rmse / np.sqrt(np.mean((prev - close) ** 2)), 1e-6)
    inside = np.mean([d["low"] <= d["close"] <= d["high"] for d in days])
    assert figures["interval_coverage"] == pytest.approx(inside)
    moves = pred / prev - 1  # the implied move of each day; its sign is the call
    calls = np.array([d["call"] for d in days])
    clear = np.abs(moves) > 1e-7
    assert np.array_equal(calls[clear], np.where(moves[clear] > 0, "up", "down"))
    assert bt["strategy"] is not None  # its implied calls are known at D's close: traded

    explanation = client.get(
        "/v1/explanations/DJIA", params={"date": BREXIT, "target": "next_close"}
    ).json()
    assert explanation["effect_unit"] == "price" and explanation["events"]
    assert explanation["prediction"]["price"] == price


def _backtest_cache_hits(client: httpx.Client) -> float:
    """The service's count of backtests answered from its cache (/metrics)."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('kdtcn_answer_cache_hits_total{kind="backtest"}'):
            return float(line.split()[-1])
    return 0.0
