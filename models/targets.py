"""Prediction targets: what each one predicts and which data it may see.

This module is the one home of the no-look-ahead rule. Training, evaluation, prediction and
explanation ask a `Target` instead of comparing target names.

A model input is a window of W trading days anchored on day `a`, the last day whose bar is
used. Its label is the move of day a+1: up when adj_close[a+1] >= adj_close[a] (the
dataset's label). Event rows run beside the price rows, shifted by `event_shift` steps:

* ``next_day`` (shift 0): asked on date D, the anchor is D itself (its bar must exist); the
  window sees bars up to D and headlines dated up to D, and predicts the first trading day
  after D. A user can trade on this answer.
* ``same_day`` (shift 1): asked on date D, the anchor is the last trading day before D; the
  window sees bars strictly before D and headlines dated up to D (its last step carries D's
  own news), and predicts D's close against the previous close: the paper's setting.

Headlines are assigned to trading days by `models.inputs.assign_days` (news of weekends and
holidays goes to the next trading day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["Target", "TARGETS", "TargetName", "DEFAULT_TARGET", "get_target"]

TargetName = Literal["next_day", "same_day"]


@dataclass(frozen=True)
class Target:
    """One prediction target (see the module docstring)."""

    name: str
    description: str
    event_shift: int  # event rows sit this many steps after the price rows of the window

    @property
    def bar_of_date_is_input(self) -> bool:
        """Whether the bar of the asked date D is part of the input (so it must exist)."""
        return self.event_shift == 0

    def last_price_date(self, date: dt.date) -> dt.date:
        """The last date whose bar an answer for `date` may use."""
        return date if self.bar_of_date_is_input else date - dt.timedelta(days=1)

    def last_headline_date(self, date: dt.date) -> dt.date:
        """The last date whose headlines an answer for `date` may use."""
        return date

    @property
    def tradable(self) -> bool:
        """Whether the answer is known before the predicted day opens (so it can be traded):
        true when the window ends on the asked date's close and reads no later news."""
        return self.bar_of_date_is_input

    def asked_date(self, day_before: dt.date, day: dt.date) -> dt.date:
        """The date D whose answer predicts trading day `day` (`day_before` is the trading
        day before it): D = day_before for next_day, D = day itself for same_day."""
        return day_before if self.bar_of_date_is_input else day

    def last_label_date(self, date: dt.date) -> dt.date:
        """The newest `train_until` a model version may have to answer for `date` out of
        sample: every label it was fitted on then precedes the day being predicted (the
        first trading day after D for next_day, D itself for same_day)."""
        return self.last_price_date(date)

    def in_sample(self, train_until: dt.date | None, date: dt.date) -> bool:
        """Whether a version fitted on labels up to `train_until` saw the predicted day."""
        return train_until is None or train_until > self.last_label_date(date)

    def target_day(self, date: dt.date) -> str:
        """The day whose move is predicted, in words."""
        if self.bar_of_date_is_input:
            return f"first trading day after {date.isoformat()}"
        return date.isoformat()

    def event_dates(self, price_dates: list[dt.date], date: dt.date) -> list[dt.date]:
        """Trading days whose news the window of `price_dates` (its W bars plus the one before
        them for returns) reads, oldest first: one per event row. A shifted target reads the
        news of the asked date itself in its last step."""
        first = 1 + self.event_shift
        return list(price_dates[first:]) + ([date] if self.event_shift else [])

    def leading_event_rows(self) -> int:
        """Event rows before the first day in `event_dates`: they stand beside price rows
        whose news the window does not read, and are zeros."""
        return 1 + self.event_shift

    def default_date(self, last_bar: dt.date, last_news: dt.date | None) -> dt.date:
        """The date answered when none is asked: the latest the data allows."""
        if self.bar_of_date_is_input or last_news is None:
            return last_bar
        return max(last_bar, last_news)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "next_day",
            "the move of the first trading day after D, from bars and headlines up to D",
            event_shift=0,
        ),
        Target(
            "same_day",
            "the move of D's close against the previous close, from bars before D and "
            "headlines up to D",
            event_shift=1,
        ),
    )
}
DEFAULT_TARGET = "next_day"
assert set(get_args(TargetName)) == set(TARGETS), "TargetName must list every target"


def get_target(name: str) -> Target:
    """The target called `name`; ValueError names the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; expected one of {sorted(TARGETS)}") from None
