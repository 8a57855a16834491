"""Response schemas of GET /v1/backtest (see app.schemas_public for the conventions)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from app.schemas_public import ResponseBody

__all__ = ["BacktestDay", "BacktestPublic", "BacktestVersion"]


class BacktestDay(ResponseBody):
    """One predicted trading day: the answer served for it then, the realised move, and the
    strategies' returns."""

    date: dt.date = Field(description="The trading day predicted")
    asked: dt.date = Field(description="The date D whose answer predicted it")
    p: float | None = Field(
        description="The probability of the target's positive outcome; null for next_close"
    )
    p_up: float | None = Field(description="= p for a direction target; null otherwise")
    close: float = Field(description="The day's realised adjusted close")
    predicted_close: float | None = Field(description="next_close: the predicted close")
    low: float | None = Field(description="next_close: the interval's lower end")
    high: float | None = Field(description="next_close: the interval's upper end")
    decision_cut: float = Field(description="The cut of the version that answered")
    call: str = Field(description="The answering version's call (as in a prediction)")
    label: bool = Field(description="The realised outcome under the answering version's labels")
    up: bool = Field(description="The realised move: adjusted close >= the previous one")
    # `return` is a Python keyword: the attribute is return_ and the JSON key "return".
    return_: float = Field(alias="return", description="Simple return of the day")
    version: str
    train_until: dt.date | None
    in_sample: bool
    long_short_return: float = Field(description="Net of costs")
    long_flat_return: float = Field(description="Net of costs")


class BacktestVersion(ResponseBody):
    """A version that answered days of the range: its cut, decision cut, label threshold
    and how many days it answered."""

    version: str
    train_until: dt.date
    decision_cut: float
    label_threshold: float | None
    days: int


class BacktestPublic(ResponseBody):
    """GET /v1/backtest/{symbol}: point-in-time predictions over a range, their skill next
    to reference rules, and the returns of trading them."""

    symbol: str
    target: str = Field(description="A target of models.targets (next_day, same_day, ...)")
    start: dt.date
    end: dt.date
    cost_bps: float
    tradable: bool = Field(
        description="Whether each day's answer read only inputs published before the close "
        "it trades at (the asked date's); see timing_note"
    )
    news_timing: Literal["timestamps", "dates only", "no news"]
    timing_note: str
    n_days: int
    in_sample_days: int
    versions: list[BacktestVersion]
    classification: dict[str, dict[str, float | int | None]] = Field(
        description="the model and two reference rules on the same days (direction targets: "
        "always_up and reversal; big_move: never_big and persistence, big when the last "
        "move was): mcc, balanced_accuracy, accuracy, hit_rate, f1, share_up; the model "
        "also auc, brier, n_days (not for next_close, whose calls are the implied moves)"
    )
    regression: dict[str, float | int | None] | None = Field(
        default=None,
        description="next_close: rmse, mae, mape (percent), theil_u (RMSE over the random "
        "walk's; < 1 beats it), direction_accuracy, interval_coverage, n_days; null otherwise",
    )
    strategy: dict[str, dict[str, float | int | None]] | None = Field(
        description="long_short, long_flat and buy_and_hold: cumulative_return, "
        "annual_return, annual_volatility, sharpe, max_drawdown, turnover (empyrical-reloaded); "
        "null for a target that cannot be traded"
    )
    note: str | None
    days: list[BacktestDay]
