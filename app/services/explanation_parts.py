"""The parts of an explanation's answer (app.services.explanations builds it): the rows of
its events and of its headlines, the events handed to the graph in order of importance, the
groups the graph found, and the `attribution` field.

They only arrange effects already computed (Shapley values, occlusion effects, attention
weights) into the answer's schemas (app.schemas_explanations); none asks the model for an
answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import spearmanr

from app.schemas_events import event_public
from app.schemas_explanations import Attribution, EventGroup, ExplainedEvent, ExplainedHeadline
from app.services.graph_view import GraphEvent
from models.attribution import ShapleyResult

__all__ = ["attribution_fields", "event_rows", "graph_events", "group_rows", "headline_rows"]


def event_rows(
    listed: list[tuple[Any, Any]],
    read: set[int],
    effect_of: dict[int, float],
    attention: dict[int, float],
) -> list[ExplainedEvent]:
    """The answer's row of each listed (day, stored event), in the order given: its triple,
    headline, whether the model reads it, its occlusion `effect` (0 for an event the model
    cannot read, None for a read one whose effect was not computed) and its attention; its
    `group` is None until group_rows sets it."""
    events = []
    for day, stored in listed:
        headline = stored.headline
        event = event_public(stored)
        events.append(
            ExplainedEvent(
                id=event.id,
                headline_id=headline.id,
                date=headline.date,
                published_at=headline.published_at,
                day=day.date,
                headline=headline.text,
                rank=headline.rank,
                subject=event.subject.text,
                predicate=event.predicate.lemma,
                object=event.object.text if event.object else None,
                negated=event.negated,
                read=event.id in read,
                effect=effect_of.get(event.id, None if event.id in read else 0.0),
                attention=attention.get(event.id, 0.0) if attention else None,
                entities=event.entities,
                group=None,
            )
        )
    return events


def headline_rows(
    every: list[tuple[Any, Any]],
    player: dict[int, int],
    result: ShapleyResult,
    effect_of: dict[int, float],
    attention: dict[int, float],
) -> list[ExplainedHeadline]:
    """The answer's row of each headline of the window's events (`every`), largest |effect|
    first: its Shapley value (`effect`, 0 for a headline the model cannot read) with its
    standard error, its occlusion, its attention (the sum over its events) and its events'
    ids, largest |occlusion effect| first."""
    by_headline: dict[int, tuple[Any, list[Any]]] = {}
    for day, stored in every:
        by_headline.setdefault(stored.headline.id, (day, []))[1].append(stored)
    headlines = []
    for hid, (day, own) in by_headline.items():
        k = player.get(hid)
        first = own[0].headline
        headlines.append(
            ExplainedHeadline(
                id=hid,
                date=first.date,
                published_at=first.published_at,
                day=day.date,
                rank=first.rank,
                text=first.text,
                read=k is not None,
                effect=0.0 if k is None else float(result.values[k]),
                effect_se=0.0 if k is None else float(result.std_error[k]),
                occlusion=0.0 if k is None else float(result.occlusion[k]),
                attention=sum(attention.get(e.id, 0.0) for e in own) if attention else None,
                events=[e.id for e in sorted(own, key=lambda e: -abs(effect_of.get(e.id) or 0.0))],
            )
        )
    headlines.sort(key=lambda h: -abs(h.effect))
    return headlines


def graph_events(
    events: list[ExplainedEvent], headlines: list[ExplainedHeadline]
) -> list[GraphEvent]:
    """The listed events as the graph draws them, in order of importance: by their
    headline's |Shapley value| (`headlines` is in that order), then by their own |occlusion
    effect|."""
    rank_of = {h.id: r for r, h in enumerate(headlines)}
    ordered = sorted(events, key=lambda e: (rank_of[e.headline_id], -abs(e.effect or 0)))
    return [
        GraphEvent(
            e.id,
            e.subject + " " + e.predicate + " " + (e.object or ""),
            e.effect or 0.0,
            [(x.id, x.role) for x in e.entities],
        )
        for e in ordered
    ]


def group_rows(events: list[ExplainedEvent], groups: dict[int, int | None]) -> list[EventGroup]:
    """The graph's groups (`groups`: event id -> group id or None), by id, each with its
    events and their entities' sorted ids; sets each event row's `group`. A group's `effect`
    is 0 until app.services.explanations sets it."""
    members: dict[int, tuple[list[int], set[str]]] = {}
    for e in events:
        e.group = groups.get(e.id)
        if e.group is not None:
            ids, entities = members.setdefault(e.group, ([], set()))
            ids.append(e.id)
            entities.update(x.id for x in e.entities)
    return [
        EventGroup(id=gid, events=ids, entities=sorted(entities), effect=0.0)
        for gid, (ids, entities) in sorted(members.items())
    ]


def attribution_fields(
    result: ShapleyResult,
    players: int,
    horizon_days: int,
    attention: dict[int, float],
    event_slots: int,
) -> Attribution:
    """The answer's `attribution`: how the Shapley values were estimated, the answers with
    every event and with none, the Spearman agreement of Shapley values and occlusion (with
    at least 3 players), and how the model pools a day's events."""
    agreement = None
    if players >= 3:
        rho = spearmanr(result.values, result.occlusion).statistic
        agreement = None if np.isnan(rho) else float(rho)
    return Attribution(
        estimator=result.estimator,
        players=players,
        horizon_days=horizon_days,
        permutations=result.permutations,
        max_std_error=float(np.max(result.std_error)) if len(result.std_error) else 0.0,
        with_all_events=result.full,
        without_events=result.empty,
        sum_of_effects=float(np.sum(result.values)),
        occlusion_rank_agreement=agreement,
        pooling=f"attention over each day's {event_slots} most "
        "popular events (attention: the weight each event got within its day; a "
        "headline's is the sum over its events)"
        if attention
        else "the fixed 1/rank mean of each day's events (no attention weights)",
        note="effects are Shapley values over the window's headlines with events "
        "(a headline left out takes all its events with it): they add up to "
        "total_effect = with_all_events - without_events; effect_se is each sampled "
        "value's standard error; occlusion_rank_agreement is the Spearman correlation "
        "of Shapley values and single-headline occlusion",
    )
