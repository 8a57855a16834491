"""Kinds of target: what a target's answer is and how it is labelled, called and scored.

A `models.targets.Target` says which data an answer may read (its timing); its kind says
everything else, so serving, the backtest, training and the harness ask the kind instead of
comparing names:

* `Direction`: P(the predicted day closes at or above the previous close); calls up/down.
* `BigMove`: P(|log return| of the predicted day > q), q the `quantile` of |log return| over
  the training days (fitted with each fit, stored with each version); calls big/calm.
* `Regression`: the log return of the predicted day, reported as the close it implies, with
  an interval from the training residuals; its implied calls are up/down.

Each kind owns its labels and threshold, its calls and what a position may follow, the units
and fields of its answers, its reference rules and baselines, and how a fitted version is
scored. A new kind is one subclass here and a target that names it (models.targets.TARGETS).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import numpy as np

from models.baselines import DIRECTION_BASELINES, Baseline
from models.metrics import decision_cut, probability_scores
from models.regression import regression_scores

__all__ = ["BigMove", "Direction", "Regression", "TargetKind", "Unit", "log_returns"]

Unit = Literal["probability", "price"]
Predict = Callable[[np.ndarray], np.ndarray]
Span = Callable[[np.ndarray], dict[str, str]]


def log_returns(close: np.ndarray) -> np.ndarray:
    """log(close[t] / close[t-1]) of every day (NaN for the first)."""
    close = np.asarray(close, dtype=float)
    out = np.full(len(close), np.nan)
    out[1:] = np.log(close[1:] / close[:-1])
    return out


class TargetKind:
    """A kind of target. The base behaviour is a classifier of the direction of the
    predicted day's move (`Direction`); the other kinds override what differs."""

    name: ClassVar[str] = "direction"
    calls: ClassVar[tuple[str, str]] = ("up", "down")  # the positive and the negative call
    unit: ClassVar[Unit] = "probability"  # what answers and explanation effects report
    # whether its calls are up/down, so a long or short position can follow them
    directional: ClassVar[bool] = True
    # the models KDTCN is compared with in the harness (paired bootstrap), when present
    compared_with: ClassVar[tuple[str, ...]] = ("Majority", "TCN", "ARIMA(1,0,1)", "Reversal")

    # whether its models regress `fit_values` instead of classifying `labels`
    regression: ClassVar[bool] = False

    def fit_threshold(self, close: np.ndarray, train_days: np.ndarray) -> float | None:
        """What the labels need from the training days (indices of labelled days)."""
        return None

    def labels(self, close: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """label[t] of every trading day t from adjusted closes (label[0] = -1, undefined):
        up = close[t] >= close[t-1], the dataset's label."""
        close = np.asarray(close, dtype=float)
        out = np.full(len(close), -1, dtype=np.int64)
        out[1:] = (close[1:] >= close[:-1]).astype(np.int64)
        return out

    def fit_values(self, close: np.ndarray) -> np.ndarray | None:
        """What a regressor is fitted on (None: a classifier, fitted on `labels`)."""
        return None

    def outcome(self, threshold: float | None = None) -> str:
        """What the answer is, in words."""
        return "the predicted day closes at or above the previous close"

    def reported(self, last_close: float, outputs: np.ndarray) -> np.ndarray:
        """Model outputs in the answer's `unit`."""
        return np.asarray(outputs, float)

    def probability_fields(self, p: float) -> dict[str, float | None]:
        """An answer's `p` (the positive outcome's probability) and `p_up`."""
        return {"p": round(p, 6), "p_up": round(p, 6) if self.directional else None}

    def direction_of(self, call: str) -> Literal["up", "down"] | None:
        """The direction an answer states for its call: up for the positive call of a
        directional kind, down for its negative one; None for a kind without a direction."""
        if not self.directional:
            return None
        return "up" if call == self.calls[0] else "down"

    def price_band(
        self, close_prev: Any, outputs: Any, interval: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """A regressor's implied close and interval ends ("pred", "low", "high"), as prices;
        None for a classifier."""
        return None

    def reference_calls(self, prev_label: np.ndarray) -> dict[str, np.ndarray]:
        """Rules a backtest scores beside the model on the same days (name -> calls), from the
        labels of the day before each predicted day."""
        return {"always_up": np.ones_like(prev_label), "reversal": 1 - prev_label}

    def baselines(self) -> dict[str, Baseline]:
        """The evaluation harness's baselines for this kind."""
        return DIRECTION_BASELINES

    def version_figures(
        self,
        close: np.ndarray,
        labels: np.ndarray,
        days: Mapping[str, np.ndarray],
        predict: Predict,
        span: Span,
        notes: Mapping[str, str],
    ) -> tuple[float, dict[str, Any] | None, dict[str, Any]]:
        """A fitted version's decision cut, interval (None) and figures: the cut chosen on its
        training days (models.metrics.decision_cut: positive calls there as frequent as
        positive labels), scored on the early-stopping tail and out of sample. `days` holds
        "train", "tail" and "score" (row indices); `notes` a note for "tail" and "score"."""
        train_p, train_y = predict(days["train"]), labels[days["train"]]
        cut = decision_cut(train_p, train_y)
        out: dict[str, Any] = {
            "decision_cut": {
                "value": cut,
                "rule": "positive calls on training days as frequent as positive labels there",
                "share_positive_on_training_days": float(np.mean(train_y)),
                "share_called_positive_on_training_days": float(np.mean(train_p >= cut)),
                "share_called_positive_at_0.5": float(np.mean(train_p >= 0.5)),
            },
            "out_of_sample": None,
        }
        for part, key in (("tail", "early_stopping_tail"), ("score", "out_of_sample")):
            on = days[part]
            if part == "tail" or len(on):
                scores = probability_scores(labels[on], predict(on), cut=cut)
                out[key] = {**scores, **span(on), "note": notes[part]}
        return cut, None, out


class Direction(TargetKind):
    """Whether the predicted day closes at or above the previous close."""


class BigMove(TargetKind):
    """Whether the predicted day moves by more than q in absolute log return."""

    name: ClassVar[str] = "big_move"
    calls: ClassVar[tuple[str, str]] = ("big", "calm")
    directional: ClassVar[bool] = False
    compared_with: ClassVar[tuple[str, ...]] = ("Base rate", "TCN", "HAR-LogReg", "GARCH(1,1)")

    def __init__(self, quantile: float = 0.8) -> None:
        """A big move is beyond the `quantile` of |log return| on the training days."""
        self.quantile = quantile  # q is this quantile of |log return| on training days

    def __repr__(self) -> str:
        """BigMove(quantile=...)."""
        return f"BigMove(quantile={self.quantile})"

    def fit_threshold(self, close: np.ndarray, train_days: np.ndarray) -> float | None:
        """q: the `quantile` of |log return| over the training days."""
        return float(np.quantile(np.abs(log_returns(close)[train_days]), self.quantile))

    def labels(self, close: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Big when |log(close[t] / close[t-1])| > threshold (label[0] = -1, undefined)."""
        if threshold is None:
            raise ValueError("big_move labels need the threshold fitted on training days")
        out = np.full(len(close), -1, dtype=np.int64)
        out[1:] = (np.abs(log_returns(close)[1:]) > threshold).astype(np.int64)
        return out

    def outcome(self, threshold: float | None = None) -> str:
        """|log return| of the predicted day above q (its value when known)."""
        q = "q" if threshold is None else f"{threshold:.4f} ({threshold:.2%})"
        return f"|log return| of the predicted day > {q}"

    def reference_calls(self, prev_label: np.ndarray) -> dict[str, np.ndarray]:
        """Never big, and persistence (big when the day before was)."""
        return {"never_big": np.zeros_like(prev_label), "persistence": prev_label}

    def baselines(self) -> dict[str, Baseline]:
        """The volatility baselines (models.vol_baselines: base rate, HAR, GARCH, ...)."""
        from models.vol_baselines import BIG_MOVE_BASELINES  # arch, only when asked

        return BIG_MOVE_BASELINES


class Regression(TargetKind):
    """The predicted day's log return, reported as the close it implies."""

    name: ClassVar[str] = "regression"
    unit: ClassVar[Unit] = "price"
    compared_with: ClassVar[tuple[str, ...]] = ()  # evaluation.regression compares its own
    interval_level: ClassVar[float] = 0.8  # central quantiles of the training residuals

    regression: ClassVar[bool] = True

    def fit_values(self, close: np.ndarray) -> np.ndarray:
        """value[t] = log(close[t] / close[t-1]), regressed by the window anchored on t-1."""
        return log_returns(close)

    def outcome(self, threshold: float | None = None) -> str:
        """The adjusted close of the predicted day, with its interval."""
        return "the adjusted close of the predicted day, with an 80% interval"

    def reported(self, last_close: float, outputs: np.ndarray) -> np.ndarray:
        """Predicted log returns as the closes they imply from `last_close`."""
        return implied_close(last_close, outputs)

    def probability_fields(self, p: float) -> dict[str, float | None]:
        """None for both: a regressor gives no probability."""
        return {"p": None, "p_up": None}

    def price_band(
        self, close_prev: Any, outputs: Any, interval: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The implied close of each predicted log return and its interval's ends."""
        low, high = (np.nan, np.nan) if interval is None else (interval["low"], interval["high"])
        r = np.asarray(outputs, float)
        return {
            "pred": implied_close(close_prev, r),
            "low": implied_close(close_prev, r + low),
            "high": implied_close(close_prev, r + high),
        }

    def baselines(self) -> dict[str, Baseline]:
        """None here: next_close's baselines (random walk, ARIMA) are evaluation.regression's."""
        raise NotImplementedError("next_close's baselines live in evaluation.regression")

    def version_figures(
        self,
        close: np.ndarray,
        labels: np.ndarray,
        days: Mapping[str, np.ndarray],
        predict: Predict,
        span: Span,
        notes: Mapping[str, str],
    ) -> tuple[float, dict[str, Any] | None, dict[str, Any]]:
        """The call cut (0: up when the implied close is at or above the previous one), the
        interval (the central `interval_level` quantiles of the residuals on the training
        days, in log return) and the figures: price scores (RMSE, MAE, MAPE, Theil's U
        against the random walk, direction accuracy) and how often the interval held."""
        values = log_returns(close)
        residuals = values[days["train"]] - predict(days["train"])
        alpha = (1.0 - self.interval_level) / 2
        low, high = (float(q) for q in np.quantile(residuals, [alpha, 1.0 - alpha]))
        interval = {"level": self.interval_level, "low": low, "high": high}
        out: dict[str, Any] = {
            "decision_cut": {
                "value": 0.0,
                "rule": "up when the implied close >= the previous close",
            },
            "interval": {
                **interval,
                "rule": f"central {self.interval_level:.0%} of the residual log returns on the "
                "training days, added to the predicted log return",
                "n_residuals": len(residuals),
            },
            "out_of_sample": None,
        }
        for part, key in (("tail", "early_stopping_tail"), ("score", "out_of_sample")):
            on = days[part]
            if part == "tail" or len(on):
                r_hat = predict(on)
                prev, true = close[on - 1], close[on]
                inside = (values[on] >= r_hat + low) & (values[on] <= r_hat + high)
                out[key] = {
                    **regression_scores(prev, true, implied_close(prev, r_hat)),
                    "interval_coverage": float(np.mean(inside)),
                    **span(on),
                    "note": notes[part],
                }
        return 0.0, interval, out


def implied_close(close_prev: Any, log_return: Any) -> Any:
    """The close a predicted log return implies: close_prev * exp(log_return)."""
    return np.asarray(close_prev, float) * np.exp(np.asarray(log_return, float))
