"""The backtest of a universe's served cross-section (GET /v1/backtest?universe=): for each
trading day D of a range, every stock's answer as it was served then (app.services.
universe_answers.cross_section: the version whose cut is at most D, news published before D's
close), scored against each stock's move from D's close to its next close.

Over the range: the calls' accuracy beside always-up, the daily rank IC of P(up) against the
next returns, and a long-short of the top and bottom fifth rebalanced daily net of `cost_bps`
per unit of turnover (models.cross_section, the statistics of the StockNet evaluation). A day
without a version whose cut is at most D is listed as skipped, not answered in sample. The
answer is an app.schemas_universe.UniverseBacktest."""

from __future__ import annotations

import bisect
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import NoModel, NotFound
from app.schemas_universe import UniverseBacktest, UniverseVersionUsed
from app.services.universe_answers import cross_section
from app.tables import ModelVersion, Price
from models.cross_section import cross_section as cross_section_stats

__all__ = ["backtest_universe"]


def _symbols(session: Session, universe: str) -> list[str]:
    """Every stock any version of `universe` was trained on."""
    from app.services.universe import UNIVERSE_MODEL

    symbols: set[str] = set()
    for config in session.scalars(
        select(ModelVersion.config).where(
            ModelVersion.name == UNIVERSE_MODEL, ModelVersion.symbol == universe
        )
    ):
        symbols.update((config or {}).get("symbols", ()))
    if not symbols:
        raise NoModel(
            f"no version of universe {universe!r}; train one with "
            f"`kdtcn train-universe --universe {universe}`"
        )
    return sorted(symbols)


def backtest_universe(
    session: Session,
    *,
    universe: str,
    start: dt.date,
    end: dt.date,
    cost_bps: float,
    graph: Any,
    artifacts: Path,
) -> UniverseBacktest:
    """The served cross-section of each trading day in [start, end] with a next close, scored
    (see the module docstring)."""
    symbols = _symbols(session, universe)
    closes: dict[str, dict[dt.date, float]] = {}
    for symbol, day, close in session.execute(
        select(Price.symbol, Price.date, Price.adj_close)
        .where(Price.symbol.in_(symbols), Price.date >= start)
        .order_by(Price.date)
    ):
        closes.setdefault(symbol, {})[day] = close
    bar_days = {s: list(c) for s, c in closes.items()}  # ascending: the query's order
    days = sorted({d for c in closes.values() for d in c if d <= end})
    if not days:
        raise NotFound(f"no bar of universe {universe!r} between {start} and {end}")
    dates: list[dt.date] = []
    names: list[str] = []
    p: list[float] = []
    calls: list[int] = []
    moves: list[float] = []
    skipped: list[str] = []
    versions: dict[str, str | None] = {}
    for day in days:
        try:
            section = cross_section(
                session, universe=universe, day=day, graph=graph, artifacts=artifacts
            )
        except NoModel:
            skipped.append(day.isoformat())
            continue
        except NotFound:  # no stock with a bar that day
            continue
        versions.setdefault(section.version, section.cut)
        for answer in section.answers:
            own, bars = closes.get(answer.symbol, {}), bar_days.get(answer.symbol, [])
            k = bisect.bisect_right(bars, day)
            if k == len(bars):
                continue  # its next close is not in the database yet
            dates.append(day)
            names.append(answer.symbol)
            p.append(answer.p)
            calls.append(1 if answer.call == "up" else 0)
            moves.append(float(np.log(own[bars[k]] / own[day])))
    if not dates:
        raise NoModel(
            f"no day between {start} and {end} has a version of universe {universe!r} and a "
            f"next close; train one with `kdtcn train-universe --universe {universe} --until "
            f"{start}`"
        )
    up = (np.array(moves) >= 0).astype(np.int64)
    called = np.array(calls)
    stats = cross_section_stats(
        dates, names, np.array(p), np.array(moves), seed=0, cost_bps=cost_bps
    )
    return UniverseBacktest(
        universe=universe,
        start=start.isoformat(),
        end=end.isoformat(),
        target="next_day",
        cost_bps=cost_bps,
        days=len(set(dates)),
        samples=len(dates),
        skipped_days=skipped,
        versions=[UniverseVersionUsed(version=v, cut=c) for v, c in versions.items()],
        accuracy=float(np.mean(called == up)),
        always_up=float(np.mean(up)),
        cross_section=stats,
    )
