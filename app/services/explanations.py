"""Per-event effects on the answer by occlusion, and the explanation graph around them.

Effect of an event = answer with every event - answer with that event removed, where
removing it re-pools its day without it; all variants are scored in one batch. The answer is
P(up) (or P(big move)) for a classifier, the predicted close for next_close (effects in
price units: `effect_unit`). So removing an event with effect +e lowers the answer by
exactly e (tests/test_e2e_real_data.py checks it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.schemas_public import event_public
from app.services.graph_view import GraphEvent, build_explanation_graph
from app.services.predictions import Prediction
from models.explain import occlusion_effects

__all__ = ["explain", "GRAPH_TOP_EVENTS"]

GRAPH_TOP_EVENTS = 20  # events of other days drawn in the graph (all of the last day are)


def explain(prediction: Prediction, graph: Any) -> dict[str, Any]:
    """The prediction, every event of the window with its signed effect, groups and graph."""
    embedder = prediction.loaded.embedder
    answer: dict[str, Any] = {
        "symbol": prediction.symbol,
        "target": prediction.target,
        "date": prediction.date.isoformat(),
        "prediction": prediction.public(),
        "method": "occlusion",
        # effects are differences of what the answer reports: of the probability, or for
        # next_close of the predicted close (price units)
        "effect_unit": prediction.unit,
    }
    if embedder is None or prediction.event_rows is None:
        answer.update(
            events=[],
            groups=[],
            graph={"nodes": [], "edges": []},
            note="this model reads prices only; no event has an effect",
        )
        return answer
    variants, index = [], []
    for j, day in enumerate(prediction.event_days):
        for i, event_row in enumerate(day.rows):
            variants.append(prediction.window(drop={j: (i,)}))
            index.append((day, event_row))
    model = prediction.loaded.model
    value, effects = occlusion_effects(
        lambda x: prediction.reported(model.predict(x)), prediction.window(), variants
    )
    events = []
    for (day, row), effect in zip(index, effects, strict=True):
        headline = row.headline
        event = event_public(row)
        events.append(
            {
                "id": event.id,
                "date": headline.date.isoformat(),
                "day": day.date.isoformat(),
                "headline": headline.text,
                "rank": headline.rank,
                "subject": event.subject.text,
                "predicate": event.predicate.lemma,
                "object": event.object.text if event.object else None,
                "negated": event.negated,
                "effect": float(effect),
                "entities": [x.model_dump() for x in event.entities],
            }
        )
    last_day = prediction.event_days[-1].date.isoformat() if prediction.event_days else None
    others = sorted((e for e in events if e["day"] != last_day), key=lambda e: -abs(e["effect"]))[
        :GRAPH_TOP_EVENTS
    ]
    drawn = [e for e in events if e["day"] == last_day] + others
    elements, groups = build_explanation_graph(
        [
            GraphEvent(
                e["id"],
                e["subject"] + " " + e["predicate"] + " " + (e["object"] or ""),
                e["effect"],
                [(x["id"], x["role"]) for x in e["entities"]],
            )
            for e in drawn
        ],
        graph,
    )
    by_group: dict[int, dict[str, Any]] = {}
    for e in events:
        e["group"] = groups.get(e["id"])
        if e["group"] is not None:
            g = by_group.setdefault(
                e["group"], {"id": e["group"], "events": [], "entities": set(), "effect": 0.0}
            )
            g["events"].append(e["id"])
            g["entities"].update(x["id"] for x in e["entities"])
            g["effect"] += e["effect"]
    if answer["prediction"]["p"] is not None:  # the batch's own answer, to the last digit
        answer["prediction"]["p"] = round(value, 6)
    if answer["prediction"]["p_up"] is not None:
        answer["prediction"]["p_up"] = round(value, 6)
    answer["events"] = sorted(events, key=lambda e: -abs(e["effect"]))
    answer["groups"] = [
        {**g, "entities": sorted(g["entities"])}
        for g in sorted(by_group.values(), key=lambda g: g["id"])
    ]
    answer["graph"] = elements
    answer["total_effect"] = float(np.sum(effects)) if len(effects) else 0.0
    return answer
