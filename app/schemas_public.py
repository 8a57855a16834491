"""Response schemas (the read direction): used as `response_model`, so the OpenAPI document
describes every answer and a field the code forgets or adds fails loudly (extra="forbid")."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.targets import TargetName

__all__ = [
    "ModelVersionPublic",
    "ModelList",
    "PredictionPublic",
    "ExplanationPublic",
    "EventsOfDay",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelVersionPublic(_Out):
    name: str
    version: str
    symbol: str
    target: str
    embedding_version: str | None
    train_start: dt.date | None
    train_end: dt.date | None
    validation_metrics: dict[str, Any] | None = Field(
        description="Scored on the chronological last 15% of the training period"
    )
    created_at: str | None


class ModelList(_Out):
    models: list[ModelVersionPublic]


class DataWindow(_Out):
    prices_from: dt.date
    prices_to: dt.date
    headlines_from: dt.date | None
    headlines_to: dt.date | None


class DayCoverage(_Out):
    date: dt.date
    headlines: int
    events: int
    linked_events: int


class Coverage(_Out):
    window_days: int
    headlines: int
    events: int
    linked_events: int
    last_day: DayCoverage | None


class PredictionBody(_Out):
    symbol: str
    target: TargetName
    date: dt.date
    target_date: str = Field(description="The day whose move is predicted")
    p_up: float = Field(ge=0, le=1)
    direction: Literal["up", "down"]
    model: ModelVersionPublic
    data: DataWindow = Field(description="The exact bar and headline dates the input used")
    coverage: Coverage


class PredictionPublic(PredictionBody):
    cached: bool


class EntityRef(_Out):
    id: str
    label: str | None
    role: str
    score: float


class ExplainedEvent(_Out):
    id: int
    date: dt.date = Field(description="The headline's date")
    day: dt.date = Field(description="The trading day the headline is assigned to")
    headline: str
    rank: int | None
    subject: str
    predicate: str
    object: str | None
    negated: bool
    effect: float = Field(description="P(up) with every event minus P(up) without this one")
    entities: list[EntityRef]
    group: int | None


class EventGroup(_Out):
    id: int
    events: list[int]
    entities: list[str]
    effect: float


class GraphElements(_Out):
    """Cytoscape.js elements: every node and edge is `{"data": {...}}`."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


class ExplanationPublic(_Out):
    symbol: str
    target: TargetName
    date: dt.date
    prediction: PredictionBody
    method: str
    events: list[ExplainedEvent]
    groups: list[EventGroup]
    graph: GraphElements
    total_effect: float | None = None
    note: str | None = None
    cached: bool


class Span(_Out):
    text: str
    head: str | None
    span: list[int | None]


class PredicateSpan(_Out):
    text: str
    lemma: str
    span: list[int | None]


class EntityMention(_Out):
    role: str
    mention: str
    span: list[int]
    id: str
    label: str | None
    score: float


class EventPublic(_Out):
    id: int
    subject: Span
    predicate: PredicateSpan
    object: Span | None
    negated: bool
    entities: list[EntityMention]


class HeadlinePublic(_Out):
    id: int
    rank: int | None
    source: str
    text: str
    processed: bool = Field(description="Events extracted by the current pipeline version")
    events: list[EventPublic]


class EventsOfDay(_Out):
    date: dt.date
    headlines: list[HeadlinePublic]
