"""A prediction for one symbol, date and target, from stored data only: which data a target
may see is asked of `models.targets`; the model comes from `app.services.registry`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import InvalidInput, NotEnoughHistory, NotFound
from app.schemas_public import (
    Coverage,
    DataWindow,
    DayCoverage,
    ModelVersionPublic,
    PredictionBody,
    PricePrediction,
    model_version_public,
)
from app.services.daily import collect_days
from app.services.registry import Loaded, ModelRegistry
from app.tables import Headline, Price
from models.calendar import is_trading_day
from models.inputs import DayEvents, news_timing
from models.sources import Inputs
from models.targets import NewsTiming, Target

__all__ = ["ModelRegistry", "Prediction", "build", "prepare", "resolve_date"]


@dataclass
class Prediction:
    """Everything an answer needs, including the per-day events for explanations."""

    symbol: str
    rule: Target  # the target, resolved once where the request entered
    date: dt.date
    loaded: Loaded
    # the bars and news days the answer reads (models.sources): its window is anchored on
    # the last bar
    inputs: Inputs
    last_close: float  # adjusted close of the last bar read
    # The model's answer: the probability of the target's positive outcome (P(up), P(big
    # move)), or for a regression target the predicted value (next_close: log return).
    p: float = 0.0

    @property
    def target(self) -> str:
        """The target's name."""
        return self.rule.name

    @property
    def price_dates(self) -> list[dt.date]:
        """The dates of the bars read, oldest first."""
        return self.inputs.dates

    @property
    def event_days(self) -> list[DayEvents]:
        """The news days read, oldest first (none for a price-only version)."""
        return self.inputs.days or []

    @property
    def event_rows(self) -> np.ndarray | None:
        """The raw event rows the version reads (pooled, or event sets: models.inputs)."""
        return self.inputs.event_rows(self.loaded.model.event_slots)

    def reported(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs in the units an answer reports: probabilities as they are, a
        predicted log return as the close it implies (so effects are in price units)."""
        return self.rule.kind.reported(self.last_close, outputs)

    @property
    def unit(self) -> str:
        """The unit of `reported` values (and of explanation effects)."""
        return self.rule.kind.unit

    @property
    def news_timing(self) -> NewsTiming:
        """How the news this answer read is timed (models.targets.NewsTiming): "timestamps"
        when every item it read carries its publication instant."""
        if self.loaded.embedder is None:
            return "no news"
        return news_timing(self.event_days)

    @property
    def in_sample(self) -> bool:
        """Whether the model was fitted on the day being predicted (see models.targets)."""
        return self.rule.in_sample(self.loaded.row.train_end, self.date)

    def window(self, *, drop: Mapping[int, Collection[int]] | None = None) -> np.ndarray:
        """The model input; `drop` leaves events out ({position in event_days: positions of
        its events}), as occlusion and attribution ask."""
        anchor = len(self.inputs.dates) - 1
        return self.loaded.model.windows(self.inputs, [anchor], drop=drop)[0]

    def _price(self) -> PricePrediction | None:
        """A price target's implied close and its interval (residual quantiles of the
        version's training days around the predicted log return); None for a classifier."""
        interval = self.loaded.model.interval
        band = self.rule.kind.price_band(self.last_close, self.p, interval)
        if band is None:
            return None
        if interval is None:
            raise ValueError(f"version {self.loaded.row.version} stores no interval")
        return PricePrediction(
            previous_close=round(self.last_close, 4),
            predicted_close=round(float(band["pred"]), 4),
            predicted_log_return=round(self.p, 8),
            interval_level=interval["level"],
            low=round(float(band["low"]), 4),
            high=round(float(band["high"]), 4),
            interval_rule="the predicted log return plus the 10th and 90th percentiles of the "
            "version's residuals on its training days, as prices",
            interval_basis="in-sample residuals: the level is nominal, see measured_coverage",
            measured_coverage=_measured_coverage(self.loaded.row.metrics),
        )

    def public(self) -> PredictionBody:
        """The answer as its public body (without `cached`): the probability or price, the
        call at the version's cut, the version, the dates read and their news coverage."""
        rule, model = self.rule, self.loaded.model
        call = rule.calls[0] if self.p >= model.decision_cut else rule.calls[1]
        days = self.event_days
        return PredictionBody(
            symbol=self.symbol,
            target=self.target,
            date=self.date,
            target_date=rule.target_day(self.date),
            **rule.kind.probability_fields(self.p),
            outcome=rule.outcome(model.label_threshold),
            call=call,
            direction=rule.kind.direction_of(call),
            price=self._price(),
            decision_cut=round(model.decision_cut, 6),
            label_threshold=model.label_threshold,
            in_sample=self.in_sample,
            tradable=rule.tradable_with(self.news_timing),
            news_timing=self.news_timing,
            timing_note=rule.timing_note(self.news_timing),
            model=ModelVersionPublic(**model_version_public(self.loaded.row)),
            data=DataWindow(
                prices_from=self.price_dates[0],
                prices_to=self.price_dates[-1],
                headlines_from=days[0].date if days else None,
                headlines_to=days[-1].date if days else None,
            ),
            coverage=_coverage(days),
        )


def _coverage(days: list[DayEvents]) -> Coverage:
    """The news coverage of an answer's window and of its last day."""
    last = days[-1] if days else None
    return Coverage(
        window_days=len(days),
        headlines=sum(d.n_headlines for d in days),
        pending_headlines=sum(d.n_pending for d in days),
        events=sum(len(d.event_ids) for d in days),
        linked_events=sum(d.n_linked for d in days),
        last_day=None
        if last is None
        else DayCoverage(
            date=last.date,
            headlines=last.n_headlines,
            pending_headlines=last.n_pending,
            events=len(last.event_ids),
            linked_events=last.n_linked,
        ),
    )


def _measured_coverage(metrics: Mapping[str, Any] | None) -> float | None:
    """How often the version's interval held the close on the days after its cut (its
    out-of-sample metrics); None before any such day."""
    oos = (metrics or {}).get("out_of_sample") or {}
    value = oos.get("interval_coverage")
    return None if value is None else round(float(value), 4)


def _anchor_prices(
    session: Session, symbol: str, date: dt.date, rule: Target, need: int
) -> list[tuple]:
    last = rule.last_price_date(date)
    rows = session.execute(
        select(
            Price.date,
            Price.open,
            Price.high,
            Price.low,
            Price.close,
            Price.adj_close,
            Price.volume,
        )
        .where(Price.symbol == symbol, Price.date <= last)
        .order_by(Price.date.desc())
        .limit(need)
    ).all()
    return list(reversed(rows))


def resolve_date(session: Session, symbol: str, date: dt.date | None, rule: Target) -> dt.date:
    """The asked date, checked, or by default the latest day the target's data allows."""
    target = rule.name
    last_bar = session.scalar(select(func.max(Price.date)).where(Price.symbol == symbol))
    if last_bar is None:
        raise NotFound(f"unknown symbol {symbol!r}: no prices stored")
    if date is not None:
        if (
            rule.bar_of_date_is_input
            and session.scalar(
                select(func.count())
                .select_from(Price)
                .where(Price.symbol == symbol, Price.date == date)
            )
            == 0
        ):
            raise NotFound(
                f"no {symbol} bar on {date}: {target} needs the close of D (last bar {last_bar})"
            )
        if not rule.bar_of_date_is_input and not _trades_on(session, symbol, date, last_bar):
            raise InvalidInput(
                "date",
                f"{date} ({date:%A}) is not a trading day of {symbol}: {target} predicts the "
                "close of the asked date itself, and there is none that day",
            )
        return date
    last_news = (
        None if rule.bar_of_date_is_input else session.scalar(select(func.max(Headline.date)))
    )
    return rule.default_date(last_bar, last_news)


def _trades_on(session: Session, symbol: str, date: dt.date, last_bar: dt.date) -> bool:
    """Whether `symbol` trades on `date`: within its stored bars, whether it has a bar that
    day; before the first or after the last, whether the exchange calendar holds a session."""
    first_bar = session.scalar(select(func.min(Price.date)).where(Price.symbol == symbol))
    if first_bar is not None and first_bar <= date <= last_bar:
        return bool(
            session.scalar(
                select(func.count())
                .select_from(Price)
                .where(Price.symbol == symbol, Price.date == date)
            )
        )
    return is_trading_day(date)


def prepare(
    *,
    session: Session,
    registry: ModelRegistry,
    symbol: str,
    date: dt.date | None,
    rule: Target,
    allow_in_sample: bool = False,
) -> Prediction:
    """The prediction of the served model of the target `rule` for `date` (default: the
    latest allowed)."""
    date = resolve_date(session, symbol, date, rule)
    loaded = registry.get(
        session=session, symbol=symbol, rule=rule, date=date, allow_in_sample=allow_in_sample
    )
    return build(session=session, loaded=loaded, symbol=symbol, date=date, rule=rule)


def build(
    *, session: Session, loaded: Loaded, symbol: str, date: dt.date, rule: Target
) -> Prediction:
    """The prediction of `loaded` for the resolved `date`: its bars, day events, P(up)."""
    import pandas as pd

    cfg = loaded.model.config
    window = cfg.window
    rows = _anchor_prices(session, symbol, date, rule, need=window + 1)
    if len(rows) < window + 1:
        raise NotEnoughHistory(
            f"{symbol} has {len(rows)} trading days before {date} for {rule.name}; "
            f"the model needs {window + 1} (a {window}-day window plus one for returns)"
        )
    frame = pd.DataFrame(
        rows, columns=["date", "open", "high", "low", "close", "adj_close", "volume"]
    ).set_index("date")
    price_dates = list(frame.index)
    inputs = Inputs(price_dates, loaded.model.price_rows(frame))
    if loaded.embedder is not None:
        dates = rule.event_dates(price_dates, date)
        inputs.days = collect_days(
            session=session,
            dates=dates,
            embed=loaded.embedder.embed,
            dim=loaded.embedder.dim,
            since=max(d for d in price_dates if d < dates[0]),
            cache=loaded.vectors,
            symbol=symbol,
        )
        inputs.event_dim = loaded.embedder.dim
        inputs.leading = rule.leading_event_rows()
    prediction = Prediction(symbol, rule, date, loaded, inputs, float(frame["adj_close"].iloc[-1]))
    prediction.p = float(loaded.model.predict(prediction.window()[None])[0])
    return prediction
