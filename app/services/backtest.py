"""The backtest: for each trading day of a range, the prediction the service would have
served then (point in time, under the registry's serving rule) and the realised move (for
next_close, the predicted close and its interval beside the realised close, scored by
RMSE and Theil's U against the random walk; its implied up/down calls are traded).

Each version predicts its own days in one batch, from the same inputs a served answer
reads (the window cut by models.inputs; tests check that the two agree), so a backtest of
a year costs seconds, not a request per day. The figures are models.backtest's; the answer
is an app.schemas_backtest.BacktestPublic (`backtest`), and `run_backtest` its JSON form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from sqlalchemy.orm import Session

from app.domain import NotFound
from app.schemas_backtest import BacktestDay, BacktestPublic, BacktestVersion
from app.services.daily import collect_days
from app.services.prices import load_prices
from app.services.registry import Loaded, ModelRegistry, choose
from app.settings import DEFAULT_COST_BPS
from models.backtest import (
    classification_figures,
    regression_figures,
    strategy_figures,
    strategy_returns,
)
from models.inputs import DayEvents, news_timing
from models.metrics import json_safe
from models.sources import Inputs
from models.targets import NewsTiming, Target

__all__ = ["backtest", "run_backtest"]

# models.backtest gives its figures as floats; the schema's may also be ints or None.
Figures = dict[str, float | int | None]


def _predict(
    loaded: Loaded,
    frame: Any,
    rows: list[int],
    *,
    lo: int,
    inputs: dict[tuple[str, tuple[str, ...]], Inputs],
    days: Any,
) -> np.ndarray:
    """The answers of one version for the predicted rows `rows` (indices into the whole
    series); `frame` holds the bars of rows lo.. ; `inputs` caches the inputs (models.sources)
    of each embedding and set of price features, whose event rows are built once per
    event-set size."""
    model = loaded.model
    key = (loaded.row.embedding_version or "", model.config.price_features)
    if key not in inputs:
        inputs[key] = Inputs(list(frame.index), model.price_rows(frame))
        if loaded.embedder is not None:
            inputs[key].days = days(loaded.embedder.embed, loaded.embedder.dim)
            inputs[key].event_dim = loaded.embedder.dim
    # The window that predicts day t is anchored on t - 1, for every target.
    return model.predict(model.windows(inputs[key], [t - lo - 1 for t in rows]))


@dataclass
class _Answered:
    """Each predicted day's answer under the version that gave it: the model's output, its
    decision cut, the realised label and the previous day's (under that version's labels,
    big_move: its own q), and a regressor's interval (log-return offsets)."""

    output: np.ndarray
    cut: np.ndarray
    label: np.ndarray
    prev_label: np.ndarray
    offsets: np.ndarray
    news: list[DayEvents] = field(default_factory=list)  # the news days read, every version's

    @classmethod
    def empty(cls, n: int) -> _Answered:
        """Room for `n` days."""
        ints = np.zeros(n, dtype=np.int64)
        return cls(np.zeros(n), np.zeros(n), ints, ints.copy(), np.full((n, 2), np.nan))


def run_backtest(
    *,
    session: Session,
    registry: ModelRegistry,
    symbol: str,
    start: dt.date,
    end: dt.date,
    rule: Target,
    cost_bps: float = DEFAULT_COST_BPS,
    allow_in_sample: bool = False,
) -> dict[str, Any]:
    """`backtest`'s answer in its JSON form (the keys as served: `return` for return_) with
    NaN and infinite figures as None (models.metrics.json_safe): what GET /v1/backtest
    serves, the answer cache keeps and `kdtcn backtest` prints."""
    answer = backtest(
        session=session,
        registry=registry,
        symbol=symbol,
        start=start,
        end=end,
        rule=rule,
        cost_bps=cost_bps,
        allow_in_sample=allow_in_sample,
    )
    return json_safe(answer.model_dump(mode="json", by_alias=True))


def backtest(
    *,
    session: Session,
    registry: ModelRegistry,
    symbol: str,
    start: dt.date,
    end: dt.date,
    rule: Target,
    cost_bps: float = DEFAULT_COST_BPS,
    allow_in_sample: bool = False,
) -> BacktestPublic:
    """Per-day point-in-time predictions of `rule` over [start, end] and their figures
    (which may be NaN, e.g. a score of no day: `run_backtest` gives them as None)."""
    target = rule.name
    prices = load_prices(session=session, symbol=symbol)
    if prices.empty:
        raise NotFound(f"unknown symbol {symbol!r}: no prices stored")
    dates = [d.date() for d in prices.index]
    predicted = [t for t, d in enumerate(dates) if start <= d <= end and t >= 2]
    if not predicted:
        raise NotFound(f"no {symbol} trading day between {start} and {end}")
    by_version, versions = _versions(session, symbol, rule, dates, predicted, allow_in_sample)
    loaded = {vid: registry.load(row) for vid, row in versions.items()}
    answered = _answer(session, symbol, prices, dates, predicted, by_version, loaded, rule)
    close = prices["adj_close"].to_numpy(float)
    idx = np.asarray(predicted)
    returns = close[idx] / close[idx - 1] - 1.0
    calls = (answered.output >= answered.cut).astype(np.int64)
    net = strategy_returns(calls, returns, cost_bps=cost_bps)
    # a price target's outputs are predicted log returns: the closes they imply
    price = rule.kind.price_band(
        close[idx - 1],
        answered.output,
        {"low": answered.offsets[:, 0], "high": answered.offsets[:, 1]},
    )
    version_of = {t: versions[vid] for vid, rows in by_version.items() for t in rows}
    day_rows = [
        _day_row(rule, dates, t, version_of[t], answered, i, calls, close, net, price)
        for i, t in enumerate(predicted)
    ]
    timing: NewsTiming = (
        news_timing(answered.news)
        if any(loaded[v].embedder is not None for v in by_version)
        else "no news"
    )
    traded = rule.tradable and rule.kind.directional
    classification, regression = _skill(rule, answered, calls, close, idx, price)
    return BacktestPublic(
        symbol=symbol,
        target=target,
        start=dates[predicted[0]],
        end=dates[predicted[-1]],
        cost_bps=cost_bps,
        tradable=rule.tradable_with(timing),
        news_timing=timing,
        timing_note=rule.timing_note(timing)
        + (" (trades at the asked date's close)" if traded else ""),
        n_days=len(predicted),
        in_sample_days=sum(r.in_sample for r in day_rows),
        versions=_version_rows(by_version, versions, loaded),
        classification=classification,
        regression=regression,
        strategy=cast(
            dict[str, Figures] | None,
            strategy_figures([dates[t] for t in predicted], net) if traded else None,
        ),
        note=_note(rule, target),
        days=day_rows,
    )


def _skill(
    rule: Target,
    answered: _Answered,
    calls: np.ndarray,
    close: np.ndarray,
    idx: np.ndarray,
    price: dict[str, Any] | None,
) -> tuple[dict[str, Figures], Figures | None]:
    """The calls' scores beside the target kind's reference rules, and a price target's
    errors (None for a classifier)."""
    classification = classification_figures(
        answered.label,
        None if price else answered.output,
        calls,
        rule.kind.reference_calls(answered.prev_label),
    )
    regression = (
        regression_figures(close[idx - 1], close[idx], price["pred"], price["low"], price["high"])
        if price
        else None
    )
    return cast(dict[str, Figures], classification), cast(Figures | None, regression)


def _version_rows(
    by_version: dict[int, list[int]], versions: dict[int, Any], loaded: dict[int, Loaded]
) -> list[BacktestVersion]:
    """The versions that answered, in the order of their first day, with their cut,
    threshold and number of days."""
    return [
        BacktestVersion(
            version=versions[vid].version,
            train_until=versions[vid].train_end,
            decision_cut=loaded[vid].model.decision_cut,
            label_threshold=loaded[vid].model.label_threshold,
            days=len(rows),
        )
        for vid, rows in sorted(by_version.items(), key=lambda kv: kv[1][0])
    ]


def _versions(
    session: Session,
    symbol: str,
    rule: Target,
    dates: list[dt.date],
    predicted: list[int],
    allow_in_sample: bool,
) -> tuple[dict[int, list[int]], dict[int, Any]]:
    """Which version answers each predicted day, as the service would have on the asked
    date: ({version id: its days}, {version id: its row})."""
    by_version: dict[int, list[int]] = {}
    versions: dict[int, Any] = {}
    for t in predicted:
        asked = rule.asked_date(dates[t - 1], dates[t])
        row = choose(session, symbol, rule, asked, allow_in_sample=allow_in_sample)
        versions[row.id] = row
        by_version.setdefault(row.id, []).append(t)
    return by_version, versions


def _answer(
    session: Session,
    symbol: str,
    prices: Any,
    dates: list[dt.date],
    predicted: list[int],
    by_version: dict[int, list[int]],
    loaded: dict[int, Loaded],
    rule: Target,
) -> _Answered:
    """Each version's answers for its days, from the bars and news of the range (and the
    windows before it), read once per embedding."""
    widest = max(item.model.config.window for item in loaded.values())
    lo = max(0, predicted[0] - widest - 2)
    frame = prices.iloc[lo : predicted[-1] + 1]
    span = dates[lo : predicted[-1] + 1]

    close = prices["adj_close"].to_numpy(float)
    out = _Answered.empty(len(predicted))

    def days(embed: Any, dim: int) -> Any:
        since = dates[lo - 1] if lo > 0 else None
        read = collect_days(
            session=session, dates=span, embed=embed, dim=dim, since=since, symbol=symbol
        )
        out.news.extend(read)
        return read

    position = {t: i for i, t in enumerate(predicted)}
    inputs: dict[tuple[str, tuple[str, ...]], Inputs] = {}
    for vid, rows in by_version.items():
        model = loaded[vid].model
        outputs = _predict(loaded[vid], frame, rows, lo=lo, inputs=inputs, days=days)
        labels = rule.labels(close, model.label_threshold)
        for t, p in zip(rows, outputs, strict=True):
            i = position[t]
            out.output[i], out.cut[i] = float(p), model.decision_cut
            out.label[i], out.prev_label[i] = labels[t], labels[t - 1]
            if model.interval is not None:
                out.offsets[i] = (model.interval["low"], model.interval["high"])
    return out


def _day_row(
    rule: Target,
    dates: list[dt.date],
    t: int,
    row: Any,
    answered: _Answered,
    i: int,
    calls: np.ndarray,
    close: np.ndarray,
    net: dict[str, np.ndarray],
    price: dict[str, Any] | None,
) -> BacktestDay:
    """Day `t` (the i-th predicted): the answer served then, by version `row`, and the
    realised move."""
    positive, negative = rule.calls
    asked = rule.asked_date(dates[t - 1], dates[t])
    probability = rule.kind.probability_fields(float(answered.output[i]))
    return BacktestDay(
        date=dates[t],
        asked=asked,
        p=probability["p"],
        p_up=probability["p_up"],
        close=float(close[t]),
        predicted_close=float(price["pred"][i]) if price else None,
        low=float(price["low"][i]) if price else None,
        high=float(price["high"][i]) if price else None,
        decision_cut=round(float(answered.cut[i]), 6),
        call=positive if calls[i] else negative,
        label=bool(answered.label[i]),
        up=bool(close[t] >= close[t - 1]),
        # `return` is a Python keyword: the field is return_, set by its alias
        **{"return": float(close[t] / close[t - 1] - 1.0)},
        version=row.version,
        train_until=row.train_end,
        in_sample=rule.in_sample(row.train_end, asked),
        long_short_return=float(net["long_short"][i]),
        long_flat_return=float(net["long_flat"][i]),
    )


def _note(rule: Target, target: str) -> str | None:
    """Why a backtest is scored but not traded, if it is not."""
    if not rule.tradable:
        return (
            f"{target} reads the news of the day it predicts, which is not known before "
            "that day's open: it is scored as a classifier, not traded"
        )
    if not rule.kind.directional:
        return f"{target} predicts the size of a move, not its sign: it is scored, not traded"
    return None
