"""The backtest: for each trading day of a range, the prediction the service would have
served then (point in time, under the registry's serving rule) and the realised move (for
next_close, the predicted close and its interval beside the realised close, scored by
RMSE and Theil's U against the random walk; its implied up/down calls are traded).

Each version predicts its own days in one batch, from the same inputs a served answer
reads (the window cut by models.inputs; tests check that the two agree), so a backtest of
a year costs seconds, not a request per day. The figures are models.backtest's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.domain import NotFound
from app.services.daily import collect_days
from app.services.predictions import NEWS_TIMING
from app.services.prices import load_prices
from app.services.registry import Loaded, ModelRegistry, choose
from app.settings import DEFAULT_COST_BPS
from models.backtest import (
    classification_figures,
    regression_figures,
    strategy_figures,
    strategy_returns,
)
from models.metrics import json_safe
from models.sources import Inputs
from models.targets import NewsTiming, get_target

__all__ = ["run_backtest"]


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


def run_backtest(
    *,
    session: Session,
    registry: ModelRegistry,
    symbol: str,
    start: dt.date,
    end: dt.date,
    target: str,
    cost_bps: float = DEFAULT_COST_BPS,
    allow_in_sample: bool = False,
) -> dict[str, Any]:
    """Per-day point-in-time predictions over [start, end] and their figures."""
    rule = get_target(target)
    prices = load_prices(session=session, symbol=symbol)
    if prices.empty:
        raise NotFound(f"unknown symbol {symbol!r}: no prices stored")
    dates = [d.date() for d in prices.index]
    predicted = [t for t, d in enumerate(dates) if start <= d <= end and t >= 2]
    if not predicted:
        raise NotFound(f"no {symbol} trading day between {start} and {end}")
    # Which version answers each day, as the service would have on the asked date.
    by_version: dict[int, list[int]] = {}
    versions: dict[int, Any] = {}
    for t in predicted:
        asked = rule.asked_date(dates[t - 1], dates[t])
        row = choose(session, symbol, target, asked, allow_in_sample=allow_in_sample)
        versions[row.id] = row
        by_version.setdefault(row.id, []).append(t)
    loaded = {vid: registry.load(row) for vid, row in versions.items()}
    widest = max(item.model.config.window for item in loaded.values())
    lo = max(0, predicted[0] - widest - 2)
    hi = predicted[-1]
    frame = prices.iloc[lo : hi + 1]
    span = dates[lo : hi + 1]

    def days(embed: Any, dim: int) -> Any:
        since = dates[lo - 1] if lo > 0 else None
        return collect_days(session=session, dates=span, embed=embed, dim=dim, since=since)

    p_pos = np.zeros(len(predicted))
    cut = np.zeros(len(predicted))
    close = prices["adj_close"].to_numpy(float)
    idx = np.asarray(predicted)
    # The realised outcome of day t, and of the day before (for the persistence rules),
    # under the labels of the version that answered t (big_move: its own q); a regressor's
    # interval (log return offsets) for each day.
    label = np.zeros(len(predicted), dtype=np.int64)
    offsets = np.full((len(predicted), 2), np.nan)
    prev_label = np.zeros(len(predicted), dtype=np.int64)
    position = {t: i for i, t in enumerate(predicted)}
    inputs: dict[tuple[str, tuple[str, ...]], Inputs] = {}
    for vid, rows in by_version.items():
        probs = _predict(loaded[vid], frame, rows, lo=lo, inputs=inputs, days=days)
        labels = rule.labels(close, loaded[vid].model.label_threshold)
        for t, p in zip(rows, probs, strict=True):
            p_pos[position[t]] = float(p)
            cut[position[t]] = loaded[vid].model.decision_cut
            label[position[t]] = labels[t]
            prev_label[position[t]] = labels[t - 1]
            interval = loaded[vid].model.interval
            if interval is not None:
                offsets[position[t]] = (interval["low"], interval["high"])
    returns = close[idx] / close[idx - 1] - 1.0
    up = (close[idx] >= close[idx - 1]).astype(np.int64)
    calls = (p_pos >= cut).astype(np.int64)
    positive, negative = rule.calls
    directional = rule.kind.directional  # its calls are up/down: a position can follow
    net = strategy_returns(calls, returns, cost_bps=cost_bps)
    # a price target's p_pos holds predicted log returns: the closes they imply
    price = rule.kind.price_band(
        close[idx - 1], p_pos, {"low": offsets[:, 0], "high": offsets[:, 1]}
    )
    version_of = {t: versions[vid] for vid, rows in by_version.items() for t in rows}
    day_rows = []
    for i, t in enumerate(predicted):
        row = version_of[t]
        asked = rule.asked_date(dates[t - 1], dates[t])
        day_rows.append(
            {
                "date": dates[t].isoformat(),
                "asked": asked.isoformat(),
                **rule.kind.probability_fields(float(p_pos[i])),
                "close": float(close[t]),
                "predicted_close": float(price["pred"][i]) if price else None,
                "low": float(price["low"][i]) if price else None,
                "high": float(price["high"][i]) if price else None,
                "decision_cut": round(float(cut[i]), 6),
                "call": positive if calls[i] else negative,
                "label": bool(label[i]),
                "up": bool(up[i]),
                "return": float(returns[i]),
                "version": row.version,
                "train_until": row.train_end.isoformat() if row.train_end else None,
                "in_sample": rule.in_sample(row.train_end, asked),
                "long_short_return": float(net["long_short"][i]),
                "long_flat_return": float(net["long_flat"][i]),
            }
        )
    timing: NewsTiming = (
        NEWS_TIMING if any(loaded[v].embedder is not None for v in by_version) else "no news"
    )
    traded = rule.tradable and directional
    if not rule.tradable:
        note = (
            f"{target} reads the news of the day it predicts, which is not known before "
            "that day's open: it is scored as a classifier, not traded"
        )
    elif not directional:
        note = f"{target} predicts the size of a move, not its sign: it is scored, not traded"
    else:
        note = None
    return json_safe(
        {
            "symbol": symbol,
            "target": target,
            "start": dates[predicted[0]].isoformat(),
            "end": dates[predicted[-1]].isoformat(),
            "cost_bps": cost_bps,
            "tradable": rule.tradable_with(timing),
            "news_timing": timing,
            "timing_note": rule.timing_note(timing)
            + (" (trades at the asked date's close)" if traded else ""),
            "n_days": len(predicted),
            "in_sample_days": sum(r["in_sample"] for r in day_rows),
            "versions": [
                {
                    "version": versions[vid].version,
                    "train_until": str(versions[vid].train_end),
                    "decision_cut": loaded[vid].model.decision_cut,
                    "label_threshold": loaded[vid].model.label_threshold,
                    "days": len(rows),
                }
                for vid, rows in sorted(by_version.items(), key=lambda kv: kv[1][0])
            ],
            "classification": classification_figures(
                label,
                None if price else p_pos,
                calls,
                rule.kind.reference_calls(prev_label),
            ),
            "regression": regression_figures(
                close[idx - 1], close[idx], price["pred"], price["low"], price["high"]
            )
            if price
            else None,
            "strategy": strategy_figures([dates[t] for t in predicted], net) if traded else None,
            "note": note,
            "days": day_rows,
        }
    )
