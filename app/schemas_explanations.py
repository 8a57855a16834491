"""Response schemas of GET /v1/explanations/{symbol} (see app.schemas_public for the
conventions): the prediction, its headlines' and events' effects on it, the event groups
and the graph."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from app.schemas_events import EntityMention
from app.schemas_public import PredictionBody, ResponseBody

__all__ = ["EffectUnit", "ExplanationBody", "ExplanationPublic", "GraphElements"]

EffectUnit = Literal["probability", "price"]  # what an explanation's effects are differences of


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


class ExplanationBody(ResponseBody):
    """An explanation as app.services.explanations builds it (and the cache keeps it):
    ExplanationPublic without `cached`."""

    symbol: str
    target: str = Field(description="A target of models.targets (next_day, same_day, ...)")
    date: dt.date
    prediction: PredictionBody
    method: str
    effect_unit: EffectUnit = Field(
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


class ExplanationPublic(ExplanationBody):
    """GET /v1/explanations/{symbol}: the prediction, the effects of its headlines and
    events on it, the event groups and the graph, and whether it came from the cache."""

    cached: bool
