"""The universe network (models.universe): a sample never reads its target row or later,
attention leaves out related stocks without news, and a related stock's events carry a
signal the stock's own rows do not (on planted data)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.networks import ENCODERS
from models.universe import (
    UniverseConfig,
    UniverseNet,
    UniverseTables,
    fit_universe,
    predict_universe,
)

S, T, P, E = 3, 120, 4, 6


def _tables(seed: int = 0, t: int = T) -> UniverseTables:
    rng = np.random.default_rng(seed)
    events = rng.normal(size=(S, t, E)).astype(np.float32)
    events[..., -1] = 1.0  # the count column: every row has news
    return UniverseTables(
        prices=rng.normal(size=(S, t, P)).astype(np.float32),
        events=events,
        related=np.array([[1, 2], [0, 2], [0, 1]]),
        relation=rng.uniform(size=(S, 2, 4)).astype(np.float32),
        related_mask=np.ones((S, 2), dtype=bool),
    )


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_a_sample_reads_rows_before_its_target_only(encoder: str) -> None:
    # Every encoder: the served TCN and the tutorials' (the bidirectional LSTM included).
    tables = _tables()
    torch.manual_seed(0)
    config = UniverseConfig()
    net = UniverseNet(tables, use_events=True, use_related=True, config=config, encoder=encoder)
    stock, rows = np.array([0, 1, 2]), np.array([50, 60, 70])
    before = predict_universe(net, stock, rows)
    for k, (s, i) in enumerate(zip(stock, rows, strict=True)):
        # Rewrite the target row and every later one, of every stock.
        changed = _tables()
        assert changed.events is not None
        changed.prices[:, i:] = np.random.default_rng(k).normal(size=changed.prices[:, i:].shape)
        changed.events[:, i:, :-1] = -changed.events[:, i:, :-1]
        other = UniverseNet(
            changed, use_events=True, use_related=True, config=config, encoder=encoder
        )
        other.load_state_dict(
            {n: v for n, v in net.state_dict().items() if n not in ("prices", "events")},
            strict=False,
        )
        # Compared at the same batch shape: a batch of 3 and a batch of 1 may take other
        # kernels and differ in the last bit.
        alone = predict_universe(net, np.array([s]), np.array([i]))[0]
        assert alone == pytest.approx(before[k], abs=1e-6)
        assert predict_universe(other, np.array([s]), np.array([i]))[0] == alone
        # One row later, the sample reads the rewritten row: the answer moves.
        assert predict_universe(other, np.array([s]), np.array([i + 1]))[0] != pytest.approx(
            predict_universe(net, np.array([s]), np.array([i + 1]))[0]
        )


def test_attention_skips_related_stocks_without_news_or_membership() -> None:
    tables = _tables()
    assert tables.events is not None and tables.related_mask is not None
    tables.events[2, 40:50, -1] = 0.0  # stock 2 has no news on rows 40..49
    tables.related_mask[1, 0] = False  # stock 1's first related stock is padding
    net = UniverseNet(tables, use_events=True, use_related=True, config=UniverseConfig())
    with torch.no_grad():
        weights, _ = net.attention(torch.tensor([0, 1]), torch.tensor([48, 80]))
    # Stock 0 at row 48 reads rows 43..47: only stock 1 had news, so it takes all the weight.
    assert torch.allclose(weights[0, :, 0], torch.ones(5))
    assert torch.all(weights[0, :, 1] == 0)
    # Stock 1's padding slot (stock 0) is never weighted; its other slot (stock 2) is.
    assert torch.all(weights[1, :, 0] == 0) and torch.allclose(weights[1, :, 1], torch.ones(5))


def test_a_related_stocks_events_carry_what_its_own_rows_do_not() -> None:
    tables = _tables(seed=1, t=600)
    assert tables.events is not None
    # Stock 0 goes up on row i when stock 1's first event feature was positive on row i-1.
    labels = (tables.events[1, :-1, 0] > 0).astype(np.float32)
    rows = np.arange(6, 600)
    y = labels[rows - 1]
    stock = np.zeros(len(rows), dtype=np.int64)
    train, held = rows < 450, rows >= 450  # scored on rows the fit never saw
    config = UniverseConfig(epochs=40, learning_rate=1e-2, dropout=0.0)
    scored = {}
    for use_related in (False, True):
        net = fit_universe(
            tables,
            stock[train],
            rows[train],
            y[train],
            use_events=True,
            use_related=use_related,
            config=config,
        )
        calls = predict_universe(net, stock[held], rows[held]) >= 0.5
        scored[use_related] = float(np.mean(calls == y[held]))
    assert scored[True] >= 0.8, scored
    assert scored[True] - scored[False] >= 0.2, scored


def test_stocks_of_different_histories_share_one_calendar() -> None:
    import datetime as dt
    from types import SimpleNamespace

    from models.calendar import session_close
    from models.universe_data import item_means, on_calendar

    days = [dt.date(2015, 3, 2) + dt.timedelta(days=k) for k in range(12)]
    days = [d for d in days if d.weekday() < 5]  # 10 trading days
    late = days[4:]  # a stock listed on the fifth day
    day = days[6]

    def stock(symbol: str, dates: list, news: list) -> SimpleNamespace:  # type: ignore[type-arg]
        return SimpleNamespace(
            symbol=symbol,
            dates=dates,
            closes=np.array([session_close(d).timestamp() for d in dates]),
            price_rows=np.ones((len(dates), P), np.float32),
            news_dates=[day for _ in news],
            news_times=np.array(news, np.float64),
            news_ids=list(range(len(news))),
            news_texts=["x" for _ in news],
        )

    before_close = session_close(day).timestamp() - 60
    on, row = on_calendar([stock("OLD", days, []), stock("NEW", late, [before_close])])
    assert [s.dates for s in on] == [days, days] and row[day] == 6
    assert np.isnan(on[1].price_rows[:4]).all() and not np.isnan(on[1].price_rows[4:]).any()
    vectors = {"OLD": np.zeros((0, 3), np.float32), "NEW": np.ones((1, 3), np.float32)}
    _, counts = item_means(on, vectors, "tradable", len(days))
    # NEW's item sits on the calendar's row of its day (6), not on NEW's own sixth bar.
    assert counts[1].tolist() == [1.0 if i == 6 else 0.0 for i in range(len(days))]
