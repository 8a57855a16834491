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

* ``big_move`` (shift 0, the inputs of next_day): whether the first trading day after D
  moves by more than q in absolute log return, q being the 80th percentile of |log return|
  over the version's training days (fitted with the version and stored with it). A question
  of risk rather than direction: volatility clusters, and news may announce a shock.
* ``next_close`` (shift 0, the inputs of next_day), a regression: the adjusted close of the
  first trading day after D. Models regress its log return against D's close
  (`kind.fit_values`) and report the close it implies (`models.kinds.implied_close`); its `labels`
  are the direction of that move (up when close >= previous close), which is what the
  direction accuracy of an implied move is scored against.

Headlines are assigned to trading days by `models.inputs.assign_days` (news of weekends and
holidays goes to the next trading day).

Labels: `Target.fit_threshold` fits what a label needs on the training days (q for
big_move, nothing for the direction targets), then `Target.labels` labels every day.
A regression target (`is_regression`) is fitted on its kind's `fit_values` instead.

Everything else a target does (its labels, calls, answer fields, reference rules, baselines
and how a version is scored) belongs to its kind: `models.kinds`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from models.kinds import BigMove, Direction, Regression, TargetKind, log_returns

__all__ = [
    "Target",
    "TARGETS",
    "NEXT_CLOSE",
    "CLASSIFICATION_TARGETS",
    "NewsTiming",
    "register",
    "TargetName",
    "DEFAULT_TARGET",
    "get_target",
    "log_returns",
]

TargetName = Literal["next_day", "same_day", "big_move", "next_close"]
# How the news an answer read is timed: each item's publication instant ("timestamps"), or
# only its date ("dates only": an item dated D may have been posted after D's close, and
# its rank may count votes cast later); "no news" for an answer that read none.
NewsTiming = Literal["timestamps", "dates only", "no news"]


@dataclass(frozen=True)
class Target:
    """One prediction target (see the module docstring): its timing here, the rest of its
    behaviour in its `kind` (models.kinds)."""

    name: str
    description: str
    event_shift: int  # event rows sit this many steps after the price rows of the window
    kind: TargetKind = field(default_factory=Direction)

    @property
    def is_regression(self) -> bool:
        """Whether models of this target regress values instead of classifying labels."""
        return self.kind.regression

    @property
    def calls(self) -> tuple[str, str]:
        """Names of the positive and the negative call."""
        return self.kind.calls

    def fit_threshold(self, close: np.ndarray, train_days: np.ndarray) -> float | None:
        """What the labels need from the training days (indices of labelled days whose
        labels a model is fitted on): q for big_move, None for a direction target."""
        return self.kind.fit_threshold(close, train_days)

    def labels(self, close: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """label[t] of every trading day t from adjusted closes (label[0] = -1, undefined),
        by the target's kind."""
        return self.kind.labels(close, threshold)

    def values(self, close: np.ndarray) -> np.ndarray:
        """What a regression target's models fit (ValueError for a classifier)."""
        values = self.kind.fit_values(close)
        if values is None:
            raise ValueError(f"{self.name} is a classifier: it has labels, not values")
        return values

    def outcome(self, threshold: float | None = None) -> str:
        """What the target's answer is, in words: the event whose probability it gives, or
        the quantity it predicts."""
        return self.kind.outcome(threshold)

    def protocol_record(self) -> dict[str, Any]:
        """The fields the frozen protocol kdtcn-1 records for this target."""
        return {
            "name": self.name,
            "description": self.description,
            "event_shift": self.event_shift,
            "kind": self.kind.name,
            "big_quantile": getattr(self.kind, "quantile", 0.8),
        }

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

    def tradable_with(self, news: NewsTiming) -> bool:
        """Whether every input of an answer was published before the close the trade would
        use (D's close): the target's window ends there, and the news read is timed so
        that nothing after that close can be among it. "timestamps" promises that the
        caller read only items published before that close (models.inputs.assign_news cuts
        timed news at each day's close; the demo's date-only headlines read "dates only")."""
        return self.tradable and news in ("timestamps", "no news")

    def timing_note(self, news: NewsTiming) -> str:
        """What an answer read, in words, for its `news_timing`."""
        if not self.tradable:
            return (
                f"{self.name} reads the news of the day it predicts: it is the paper's "
                "setting, not a trade one could place before that day"
            )
        if news == "dates only":
            return (
                "news dated up to D, by date only: items dated D may have been posted after "
                "D's close (and ranks count later votes), so this answer is not strictly "
                "tradable at D's close"
            )
        return "bars and news published before D's close only: tradable at D's close"

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
        Target(
            "big_move",
            "whether the first trading day after D moves by more than q (|log return|, q the "
            "80th percentile over the training days), from bars and headlines up to D",
            event_shift=0,
            kind=BigMove(quantile=0.8),
        ),
        Target(
            "next_close",
            "the adjusted close of the first trading day after D, from bars and headlines up "
            "to D (regressed as the log return, reported as the price it implies)",
            event_shift=0,
            kind=Regression(),
        ),
    )
}
# The built-in targets whose models are classifiers (P of a positive outcome); the rest regress.
CLASSIFICATION_TARGETS = tuple(name for name, t in TARGETS.items() if not t.is_regression)
NEXT_CLOSE = TARGETS["next_close"]
DEFAULT_TARGET: TargetName = "next_day"
assert set(get_args(TargetName)) == set(TARGETS), "TargetName must list the built-in targets"


def register(target: Target) -> Target:
    """Add a target to TARGETS: from then on training, serving (the API's `target`), the
    backtest and the evaluation harness know it. A new kind of target is a
    models.kinds.TargetKind subclass and a target of that kind registered here."""
    if target.name in TARGETS:
        raise ValueError(f"a target called {target.name!r} exists")
    TARGETS[target.name] = target
    return target


def get_target(name: str) -> Target:
    """The target called `name`; ValueError names the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; expected one of {sorted(TARGETS)}") from None
