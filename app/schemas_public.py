"""Response schemas (the read direction): used as `response_model`, so the OpenAPI document
describes every answer and a field the code forgets or adds fails loudly (extra="forbid")."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ResponseBody",
    "ModelVersionPublic",
    "ModelList",
    "PredictionPublic",
    "ExplanationPublic",
    "EventPublic",
    "event_public",
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


class Span(ResponseBody):
    text: str
    head: str | None
    span: list[int | None]


class PredicateSpan(ResponseBody):
    text: str
    lemma: str
    span: list[int | None]


class EntityMention(ResponseBody):
    role: str
    mention: str
    span: list[int]
    id: str
    label: str | None
    score: float


class EventPublic(ResponseBody):
    """An event of a headline: subject, predicate and object with their character spans,
    its negation and its linked entities."""

    id: int
    subject: Span
    predicate: PredicateSpan
    object: Span | None
    negated: bool
    entities: list[EntityMention]


class ExplainedEvent(ResponseBody):
    id: int
    headline_id: int
    read: bool = Field(
        description="Whether the model can read it: false for days before a TCN's receptive "
        "field, whose events cannot change the answer (effect 0)"
    )
    date: dt.date = Field(description="The headline's date")
    published_at: dt.datetime | None = Field(
        default=None,
        description="When the item was published (UTC); null: known by its date only",
    )
    day: dt.date = Field(
        description="The trading day the headline is assigned to: the first whose close "
        "follows its publication, or for a date-only item the first on or after its date"
    )
    headline: str
    rank: int | None
    subject: str
    predicate: str
    object: str | None
    negated: bool
    effect: float | None = Field(
        description="The answer with every event minus the answer without this one: of the "
        "probability, or for next_close of the predicted close (see effect_unit); null "
        "outside the top headlines unless detail=full"
    )
    attention: float | None = Field(
        default=None,
        description="For a version that pools each day's events by attention: the weight its "
        "attention gave this event among its day's events (0 to 1; 0 beyond the day's slots). "
        "A weight, not an effect. Null for a version that pools by the fixed 1/rank mean",
    )
    entities: list[EntityMention]
    group: int | None


class ExplainedHeadline(ResponseBody):
    id: int
    date: dt.date = Field(description="The headline's date")
    published_at: dt.datetime | None = Field(
        default=None,
        description="When it was published (UTC); null: known by its date only",
    )
    day: dt.date = Field(description="The trading day the headline is assigned to")
    rank: int | None
    text: str
    read: bool = Field(description="Whether the model can read its events (see events)")
    effect: float = Field(
        description="Its Shapley value over the window's headlines (all of its events left "
        "out together): the effects of all headlines add up to total_effect"
    )
    effect_se: float = Field(description="The standard error of a sampled effect (0: exact)")
    occlusion: float = Field(
        description="The answer minus the answer without this headline's events"
    )
    attention: float | None = Field(
        default=None,
        description="The sum of its events' attention weights (see events); null without "
        "attention pooling",
    )
    events: list[int] = Field(description="Its events' ids, largest |effect| first")


class Attribution(ResponseBody):
    estimator: str
    players: int = Field(
        description="Headlines with at least one event the model can read (the rest: 0)"
    )
    horizon_days: int = Field(description="Trailing days of the window the model reads")
    permutations: int | None = Field(description="Orders of the players walked; null: exact")
    max_std_error: float = Field(description="The largest standard error of an effect")
    with_all_events: float
    without_events: float
    sum_of_effects: float = Field(description="Sum of the headlines' effects")
    occlusion_rank_agreement: float | None = Field(
        description="Spearman correlation of Shapley values and single-headline occlusion"
    )
    pooling: str | None = Field(
        default=None, description="How the version pools a day's events (attention or 1/rank)"
    )
    note: str


class GraphDetail(ResponseBody):
    detail: Literal["summary", "full"]
    events_drawn: int
    events_total: int
    nodes: int
    max_nodes: int | None
    max_events: int | None
    event_effects: str = Field(description="Which events' own effects were computed")


class EventGroup(ResponseBody):
    id: int
    events: list[int]
    entities: list[str]
    effect: float = Field(
        description="The answer minus the answer with all of the group's events left out"
    )


class GraphElements(ResponseBody):
    """Cytoscape.js elements: every node and edge is `{"data": {...}}`."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


class ExplanationPublic(ResponseBody):
    """GET /v1/explanations/{symbol}: the prediction, the effects of its headlines and
    events on it, the event groups and the graph, and whether it came from the cache."""

    symbol: str
    target: str = Field(description="A target of models.targets (next_day, same_day, ...)")
    date: dt.date
    prediction: PredictionBody
    method: str
    effect_unit: Literal["probability", "price"] = Field(
        description="What effects are differences of: a probability, or a price (next_close)"
    )
    headlines: list[ExplainedHeadline] = Field(
        description="The window's headlines with events, largest |effect| first"
    )
    events: list[ExplainedEvent] = Field(
        description="Events with their own occlusion effects: those of the headlines with "
        "the largest |effect| (see graph_detail.event_effects), every event of the window "
        "with detail=full"
    )
    groups: list[EventGroup]
    graph: GraphElements
    graph_detail: GraphDetail | None = None
    attribution: Attribution | None = None
    total_effect: float | None = Field(
        default=None, description="The answer with every event minus the answer with none"
    )
    note: str | None = None
    cached: bool


def event_public(row: Any) -> EventPublic:
    """The one mapping from a stored event (app.tables.Event with its entities loaded) to
    its public form; /v1/events and explanations both use it."""
    return EventPublic(
        id=row.id,
        subject=Span(
            text=row.subject, head=row.subject_head, span=[row.subject_start, row.subject_end]
        ),
        predicate=PredicateSpan(
            text=row.predicate_text,
            lemma=row.predicate,
            span=[row.predicate_start, row.predicate_end],
        ),
        object=None
        if row.object is None
        else Span(text=row.object, head=row.object_head, span=[row.object_start, row.object_end]),
        negated=row.negated,
        entities=[
            EntityMention(
                role=x.role,
                mention=x.mention,
                span=[x.start, x.end],
                id=x.entity_id,
                label=x.label,
                score=round(x.score, 4),
            )
            for x in row.entities
        ],
    )


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
