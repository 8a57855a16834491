"""Why an answer is what it is: each headline's Shapley value, occlusion beside it, and a
readable graph of the events that mattered most.

Attribution (models.attribution): the players are the window's headlines that yielded
events; leaving a headline out re-pools its day without all of its events. A headline's
`effect` is its Shapley value, so the effects add up to the answer with every event minus
the answer with none (`total_effect`). Its `occlusion` is the answer minus the answer
without that headline alone; each event keeps its own occlusion `effect` (the answer minus
the answer without that one event), computed for the events of the DETAIL_HEADLINES
headlines with the largest |effect|, the events a summary lists (every event is listed and
computed with `detail="full"`). A group's `effect`
is the answer minus the answer with all of its events left out together. The answer is P(up)
(or P(big move)) for a classifier, the predicted close for next_close (`effect_unit`). A TCN
reads only the last days of its window (its receptive field, `coalitions_of`): events of
earlier days have effect 0 exactly and are not players (`read: false`).

The graph (app.services.graph_view) draws by default the events of the headlines with the
largest absolute effects, their entities and the KG paths between them within a node
budget; `detail="full"` draws every event. `explain` computes the effects here (the
headlines' Shapley values, the events' and the groups' occlusion effects) and has the
answer's rows and fields arranged by app.services.explanation_parts; the answer is an
app.schemas_explanations.ExplanationBody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from app.schemas_explanations import (
    EffectUnit,
    EventGroup,
    ExplanationBody,
    GraphDetail,
    GraphElements,
)
from app.services.explanation_parts import (
    attribution_fields,
    event_rows,
    graph_events,
    group_rows,
    headline_rows,
)
from app.services.graph_view import build_explanation_graph
from app.services.predictions import Prediction
from models.attribution import Coalitions, ShapleyResult, shapley
from models.windows import window_at

__all__ = ["GraphOptions", "explain", "coalitions_of", "PERMUTATIONS"]

PERMUTATIONS = 8  # Shapley value sampling: orders of the headlines walked (antithetic pairs)
DETAIL_HEADLINES = 40  # summary: events' own occlusion effects for this many top headlines


@dataclass(frozen=True)
class GraphOptions:
    """How much of the explanation to compute and draw."""

    events: int = 12  # the graph draws at most this many events (the most important first)
    nodes: int = 40  # at most this many nodes
    detail: Literal["summary", "full"] = "summary"  # full: every event, its effect and path
    permutations: int = PERMUTATIONS


def _rows_used(prediction: Prediction) -> np.ndarray:
    """Which event row each step of the prediction's window reads (the window cut from the
    row numbers)."""
    cfg = prediction.loaded.model.config
    assert prediction.event_rows is not None
    numbers = np.arange(len(prediction.event_rows), dtype=np.float32)[:, None]
    anchor = len(prediction.price_dates) - 1
    return window_at(None, numbers, anchor, cfg.window, cfg.rule)[:, 0]


def coalitions_of(prediction: Prediction) -> tuple[Coalitions, list[tuple[Any, Any]]]:
    """The answer of `prediction`'s model for any coalition of the events it can read, and
    those events in the coalitions' order as (day, stored event).

    A TCN reads only the last `horizon` steps of its window (its receptive field: the
    network's `horizon`); events of earlier days cannot change the answer, so the
    coalitions leave them out and crop the windows to the horizon (exact: a unit test
    checks that cropping leaves the output unchanged)."""
    model = prediction.loaded.model
    cfg = model.config
    leading = prediction.rule.leading_event_rows()
    steps = min(model.horizon or cfg.window, cfg.window)
    rows_used = _rows_used(prediction)[-steps:]
    readable = set(rows_used.astype(np.int64).tolist())
    index, event_row, weight, vectors = [], [], [], []
    for j, day in enumerate(prediction.event_days):
        if leading + j not in readable:
            continue
        assert day.vectors is not None  # collect_days sets them
        for i, stored in enumerate(day.rows):
            index.append((day, stored))
            event_row.append(leading + j)
            weight.append(1.0 / max(float(day.ranks[i]), 1.0))
            vectors.append(day.vectors[i])
    assert prediction.loaded.embedder is not None and model.event_norm is not None
    dim = prediction.loaded.embedder.dim
    coalitions = Coalitions(
        base_window=prediction.window()[-steps:],
        rows_used=rows_used.astype(np.int64),
        event_row=np.asarray(event_row, np.int64),
        weight=np.asarray(weight, np.float64),
        vectors=np.asarray(vectors, np.float32).reshape(len(vectors), dim),
        event_norm=model.event_norm,
        answer=lambda x: prediction.reported(model.predict(x)),
        slots=model.event_slots,
        networks=model.networks if model.event_slots else (),
        combine=lambda outputs: prediction.reported(model.combine(outputs)),
    )
    return coalitions, index


def attention_weights(prediction: Prediction, window: np.ndarray) -> dict[int, float]:
    """{stored event id: the weight the network's attention gave it among its day's events}
    (the mean over the ensemble's networks) for a version that pools event sets; {} for one
    that pools by the fixed 1/rank mean. An event beyond a day's slots gets no weight."""
    import torch

    model = prediction.loaded.model
    if not model.event_slots:
        return {}
    leading = prediction.rule.leading_event_rows()
    rows_used = _rows_used(prediction)
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(window[None], np.float32))
        weights = np.mean([net.attention(x)[1][0].numpy() for net in model.networks], axis=0)
    out: dict[int, float] = {}
    for step, row in enumerate(rows_used.astype(np.int64)):
        j = int(row) - leading
        if j < 0 or j >= len(prediction.event_days):
            continue
        day = prediction.event_days[j]
        ranks = np.clip(np.asarray(day.ranks, np.float64), 1.0, None)
        for slot, i in enumerate(np.argsort(ranks, kind="stable")[: model.event_slots]):
            out[day.rows[int(i)].id] = float(weights[step, slot])
    return out


def _headline_effects(
    coalitions: Coalitions, index: list[tuple[Any, Any]], permutations: int
) -> tuple[list[int], dict[int, int], list[int], ShapleyResult]:
    """The headline effects by Shapley values: the players (the ids of the headlines of the
    readable events, in the coalitions' order), each one's position, each event's player,
    and the Shapley values over them (models.attribution.shapley, seeded)."""
    headline_ids = list(dict.fromkeys(stored.headline.id for _, stored in index))
    player = {hid: k for k, hid in enumerate(headline_ids)}
    owners = [player[stored.headline.id] for _, stored in index]
    result = shapley(coalitions, owners, permutations=permutations)
    return headline_ids, player, owners, result


def _event_effects(
    coalitions: Coalitions, index: list[tuple[Any, Any]], owners: list[int], top: set[Any] | None
) -> dict[int, float]:
    """The events' occlusion effects, {stored event id: the answer minus the answer without
    that event alone} (one batch), for every readable event (`top` None) or the events of
    the players in `top` (a headline with one event: its occlusion)."""
    n_events = coalitions.n_events
    wanted = [e for e in range(n_events) if top is None or owners[e] in top]
    effect_of: dict[int, float] = {}
    if wanted:
        keep = np.ones((len(wanted) + 1, n_events))
        keep[np.arange(1, len(wanted) + 1), wanted] = 0.0
        alone = coalitions(keep)
        for slot, value in zip(wanted, alone[0] - alone[1:], strict=True):
            effect_of[index[slot][1].id] = float(value)
    return effect_of


def _group_effects(
    coalitions: Coalitions, index: list[tuple[Any, Any]], group_list: list[EventGroup]
) -> None:
    """Each group's `effect`, set on its row: the answer minus the answer with all of its
    readable events left out together (one batch)."""
    if not group_list:
        return
    position = {stored.id: i for i, (_, stored) in enumerate(index)}
    keep = np.ones((len(group_list) + 1, coalitions.n_events))
    for row, g in enumerate(group_list, start=1):
        keep[row, [position[i] for i in g.events if i in position]] = 0.0
    out = coalitions(keep)
    for g, value in zip(group_list, out[0] - out[1:], strict=True):
        g.effect = float(value)


def _graph_detail(
    options: GraphOptions, elements: dict[str, list[dict[str, Any]]], events_total: int
) -> GraphDetail:
    """The answer's `graph_detail`: how much of the window's events the graph draws and
    whose own effects were computed."""
    summary = options.detail == "summary"
    drawn = sum(1 for n in elements["nodes"] if n["data"]["kind"] == "event")
    return GraphDetail(
        detail=options.detail,
        events_drawn=drawn,
        events_total=events_total,
        nodes=len(elements["nodes"]),
        max_nodes=options.nodes if summary else None,
        max_events=options.events if summary else None,
        event_effects="every event"
        if not summary
        else f"events of the {DETAIL_HEADLINES} headlines with the largest |effect| "
        "(only those are listed in events; detail=full lists and computes all)",
    )


def explain(
    prediction: Prediction, graph: Any, options: GraphOptions | None = None
) -> ExplanationBody:
    """The prediction, each headline's Shapley value with its events beneath, groups and
    the graph (see the module docstring)."""
    options = options or GraphOptions()
    answer = ExplanationBody(
        symbol=prediction.symbol,
        target=prediction.target,
        date=prediction.date,
        prediction=prediction.public(),
        method="shapley",
        effect_unit=cast(EffectUnit, prediction.unit),
        headlines=[],
        events=[],
        groups=[],
        graph=GraphElements(nodes=[], edges=[]),
    )
    if prediction.loaded.embedder is None or prediction.event_rows is None:
        answer.note = "this model reads prices only; no event has an effect"
        return answer
    coalitions, index = coalitions_of(prediction)
    headline_ids, player, owners, result = _headline_effects(
        coalitions, index, options.permutations
    )
    attention = attention_weights(prediction, prediction.window())
    summary = options.detail == "summary"
    # summary: the events of the DETAIL_HEADLINES headlines with the largest |effect| get
    # their own effects and are listed in full (and drawn); detail=full: every event
    top = set(np.argsort(-np.abs(result.values))[:DETAIL_HEADLINES]) if summary else None
    effect_of = _event_effects(coalitions, index, owners, top)
    # Events of days before the model's horizon: read by no window step, effect exactly 0.
    read = {stored.id for _, stored in index}
    every = [(day, stored) for day in prediction.event_days for stored in day.rows]
    listed = every if top is None else [x for x in every if player.get(x[1].headline.id) in top]
    events = event_rows(listed, read, effect_of, attention)
    headlines = headline_rows(every, player, result, effect_of, attention)
    elements, groups = build_explanation_graph(
        graph_events(events, headlines),
        graph,
        max_nodes=options.nodes if summary else None,
        max_events=options.events if summary else None,
    )
    group_list = group_rows(events, groups)
    _group_effects(coalitions, index, group_list)
    answer.headlines = headlines
    answer.events = sorted(events, key=lambda e: (e.effect is None, -abs(e.effect or 0)))
    answer.groups = group_list
    answer.graph = GraphElements(nodes=elements["nodes"], edges=elements["edges"])
    answer.total_effect = float(result.full - result.empty)
    answer.attribution = attribution_fields(
        result,
        len(headline_ids),
        int(len(coalitions.rows_used)),
        attention,
        prediction.loaded.model.event_slots,
    )
    answer.graph_detail = _graph_detail(options, elements, len(every))
    body = answer.prediction  # the batch's own answer, to the last digit
    if body.p is not None:
        body.p = round(result.full, 6)
    if body.p_up is not None:
        body.p_up = round(result.full, 6)
    return answer
