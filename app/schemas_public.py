"""Response schemas (the read direction): used as `response_model`, so the OpenAPI document
describes every answer and a field the code forgets or adds fails loudly (extra="forbid").

This module holds the base of every response body, the model versions and the predictions;
events and explanations have their own (app.schemas_events, app.schemas_explanations), as do
backtests (app.schemas_backtest)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ResponseBody",
    "ModelVersionPublic",
    "ModelList",
    "PredictionPublic",
    "model_version_public",
]


class ResponseBody(BaseModel):
    """A response body: a field the code forgets or adds fails loudly."""

    model_config = ConfigDict(extra="forbid")


class ModelVersionPublic(ResponseBody):
    """A recorded model version: what it predicts, its cut and its metrics."""

    name: str
    version: str
    symbol: str
    target: str
    embedding_version: str | None
    train_start: dt.date | None
    train_until: dt.date | None = Field(
        description="The last trading day whose label the version was fitted on (its cut)"
    )
    metrics: dict[str, Any] | None = Field(
        description="out_of_sample: scored on trading days after the cut (up to the next "
        "walk-forward cut); early_stopping_tail: the last 15% of the training days, on which "
        "early stopping chose the epoch (not out of sample)"
    )
    created_at: str | None


class Knowledge(ResponseBody):
    name: str = Field(description="The knowledge graph the event channel reads")
    as_of: str = Field(description="The snapshot's age")
    note: str
    left_out: str = Field(description="What the graph leaves out, and why")


class TrainingProgress(ResponseBody):
    """Where the background training stands: training jobs by status (app.services.jobs)."""

    done: int
    queued: int
    running: int
    failed: int
    mean_job_seconds: float | None = Field(description="Mean seconds of a finished job")
    estimated_seconds_left: int | None = Field(
        description="Queued and running jobs at the mean, shared among the runners working "
        "(None before the first job finishes)"
    )


class ModelList(ResponseBody):
    """GET /v1/models: the served symbols, the background training, the knowledge graph and
    every recorded version, newest first."""

    symbols: list[str] = Field(description="The symbols with at least one version (served)")
    training: TrainingProgress
    knowledge: Knowledge = Field(
        description="The knowledge graph behind every version's event embeddings and its age"
    )
    models: list[ModelVersionPublic]


class DataWindow(ResponseBody):
    prices_from: dt.date
    prices_to: dt.date
    headlines_from: dt.date | None
    headlines_to: dt.date | None


class DayCoverage(ResponseBody):
    date: dt.date
    headlines: int
    pending_headlines: int = Field(
        description="Headlines stored but not yet processed: their events are not counted yet"
    )
    events: int
    linked_events: int


class Coverage(ResponseBody):
    window_days: int
    headlines: int
    pending_headlines: int = Field(
        description="Headlines of the window waiting for event extraction (GET /v1/ingest); "
        "the answer changes once they are processed"
    )
    events: int
    linked_events: int
    last_day: DayCoverage | None


class PricePrediction(ResponseBody):
    previous_close: float = Field(description="The adjusted close of D, the last bar read")
    predicted_close: float = Field(description="previous_close * exp(predicted_log_return)")
    predicted_log_return: float
    interval_level: float = Field(description="The interval's nominal coverage (0.8)")
    low: float = Field(description="The interval's lower end, a price")
    high: float = Field(description="The interval's upper end, a price")
    interval_rule: str = Field(description="How the interval was made")
    interval_basis: str = Field(
        description="What the interval rests on: the version's in-sample residuals, so "
        "interval_level is nominal"
    )
    measured_coverage: float | None = Field(
        description="Share of closes the version's interval held on the days after its cut "
        "(its out-of-sample metrics); null before any"
    )


class PredictionBody(ResponseBody):
    symbol: str
    target: str = Field(description="A target of models.targets (next_day, same_day, ...)")
    date: dt.date
    target_date: str = Field(description="The day whose move (or close) is predicted")
    p: float | None = Field(
        ge=0, le=1, description="The probability of `outcome`; null for next_close"
    )
    outcome: str = Field(description="What `p` is the probability of, or what is predicted")
    call: str = Field(
        description="The target's positive call (up, big) when p >= decision_cut, else its "
        "negative one (down, calm); for next_close, up when the predicted close is at or "
        "above the previous close"
    )
    p_up: float | None = Field(
        ge=0, le=1, description="P(up) for a direction target (= p); null otherwise"
    )
    direction: Literal["up", "down"] | None = Field(
        description="The call of a direction target or of next_close's implied move; null "
        "for big_move"
    )
    price: PricePrediction | None = Field(
        default=None, description="next_close: the predicted close and its interval"
    )
    decision_cut: float = Field(
        description="The version's cut, chosen on its training days: it calls the positive "
        "class there about as often as it occurred (next_close: 0, the implied move's sign)"
    )
    label_threshold: float | None = Field(
        description="big_move: q, the |log return| above which a move is big (the 80th "
        "percentile over the version's training days); null for a direction target"
    )
    in_sample: bool = Field(
        description="True only when allow_in_sample=true served a version fitted on the "
        "day being predicted; otherwise the model's training labels all precede that day"
    )
    tradable: bool = Field(
        description="Whether every input was published before the close a trade on this "
        "answer would use (D's close): false for same_day, and for news timed by date only"
    )
    news_timing: Literal["timestamps", "dates only", "no news"] = Field(
        description="How the news read is timed: publication instants, or dates only (an "
        "item dated D may have been posted after D's close)"
    )
    timing_note: str = Field(description="What the answer read, in words")
    model: ModelVersionPublic
    data: DataWindow = Field(description="The exact bar and headline dates the input used")
    coverage: Coverage


class PredictionPublic(PredictionBody):
    """GET /v1/predictions/{symbol}: the answer for one symbol, date and target, and
    whether it came from the cache."""

    cached: bool


def model_version_public(row: Any) -> dict[str, Any]:
    """A recorded model version (app.tables.ModelVersion) in its public form."""
    return {
        "name": row.name,
        "version": row.version,
        "symbol": row.symbol,
        "target": row.target,
        "embedding_version": row.embedding_version,
        "train_start": row.train_start.isoformat() if row.train_start else None,
        "train_until": row.train_end.isoformat() if row.train_end else None,
        "metrics": row.metrics,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }
