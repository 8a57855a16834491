"""Scoring extraction and linking against the hand-annotated gold set (tests/gold/).

Tuple matching: a predicted tuple matches a gold tuple when the heads of its three parts
match (lower-cased lemmas; the predicate matches on its full lemma or its first word, so
"call for" matches "call"; a missing object matches only a missing object), one to one.
Linking: precision and recall over (headline, Wikidata id) pairs, counting only gold
mentions whose entity is in the bundled graph.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.types import Event

__all__ = [
    "GOLD_SETS",
    "load_gold",
    "tuple_key",
    "extraction_scores",
    "linking_scores",
    "textacy_tuples",
    "score_gold",
    "GoldSetScores",
    "score_gold_sets",
]

# The two hand-annotated sets: rules are tuned on the first only; the blind one is the
# honest figure (tests/gold/README.md). Paths are relative to the project root.
GOLD_SETS = {
    "tuned on": Path("tests/gold/events_gold.jsonl"),
    "blind": Path("tests/gold/events_blind.jsonl"),
}

Key = tuple[str, str, str | None]


def load_gold(path: Path) -> list[dict[str, Any]]:
    """The annotated headlines of a gold file, one JSON object per non-empty line."""
    return [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line]


def _norm(word: str | None) -> str | None:
    return None if word is None else word.lower().strip()


def tuple_key(event: Event) -> Key:
    """The (subject head, predicate head, object head or None) of an event, as matched."""
    return (event.subject.head, event.predicate.head, event.object.head if event.object else None)


def _matches(pred: Key, gold: Key) -> bool:
    ps, pp, po = (_norm(x) for x in pred)
    gs, gp, go = (_norm(x) for x in gold)
    predicate_ok = pp == gp or (pp or "").split(" ")[0] == (gp or "").split(" ")[0]
    return ps == gs and predicate_ok and po == go


def extraction_scores(
    gold: Sequence[Sequence[Key]], predicted: Sequence[Sequence[Key]]
) -> dict[str, float]:
    """Micro precision, recall and F1 over all headlines (one-to-one matching)."""
    tp = n_gold = n_pred = 0
    for gold_tuples, pred_tuples in zip(gold, predicted, strict=True):
        n_gold += len(gold_tuples)
        n_pred += len(pred_tuples)
        unused = list(gold_tuples)
        for pred in pred_tuples:
            hit = next((g for g in unused if _matches(pred, g)), None)
            if hit is not None:
                unused.remove(hit)
                tp += 1
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": tp,
        "n_gold": n_gold,
        "n_pred": n_pred,
    }


def linking_scores(
    gold: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]]
) -> dict[str, float]:
    """Precision/recall/F1 over (headline, entity id) pairs."""
    tp = n_gold = n_pred = 0
    for g, p in zip(gold, predicted, strict=True):
        g, p = set(g), set(p)
        tp += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "n_gold": n_gold, "n_pred": n_pred}


def textacy_tuples(doc: Any) -> list[Key]:
    """The triples of textacy's subject_verb_object_triples, reduced to heads like ours: the
    syntactic head of each part (its lemma, lower-cased; the proper-noun text for proper
    nouns, lower-cased)."""
    from textacy.extract.triples import subject_verb_object_triples

    def head(tokens: Sequence[Any]) -> str:
        span = doc[tokens[0].i : tokens[-1].i + 1]
        root = span.root
        return root.lower_ if root.pos_ == "PROPN" else root.lemma_.lower()

    out = []
    for triple in subject_verb_object_triples(doc):
        verb = [t for t in triple.verb if t.pos_ in {"VERB", "AUX"}] or list(triple.verb)
        out.append(
            (
                head(triple.subject),
                verb[-1].lemma_.lower(),
                head(triple.object) if triple.object else None,
            )
        )
    return out


def score_gold(
    gold: Sequence[dict[str, Any]], nlp: Any, extractor: Any, linker: Any, *, textacy: bool = True
) -> dict[str, dict[str, float]]:
    """All scores of one gold set: extraction (ours, textacy's when installed) and linking
    (of the event phrases, and of the whole headline, which is what the pipeline stores)."""
    docs = list(extractor.parse([g["text"] for g in gold]))
    gold_tuples = [[(t["subject"], t["predicate"], t["object"]) for t in g["tuples"]] for g in gold]
    events = [extractor.extract_doc(d) for d in docs]
    out = {
        "extraction: kdtcn rules": extraction_scores(
            gold_tuples, [[tuple_key(e) for e in evs] for evs in events]
        )
    }
    if textacy:
        with contextlib.suppress(ImportError):  # textacy is a dev extra
            out["extraction: textacy SVO"] = extraction_scores(
                gold_tuples, [textacy_tuples(d) for d in docs]
            )
    gold_ids = [{e["qid"] for e in g["entities"] if e["qid"]} for g in gold]
    by_events = [
        {x.entity_id for x in linker.link_events(g["text"], evs)}
        for g, evs in zip(gold, events, strict=True)
    ]
    by_text = [{x.entity_id for x in linker.link_text(g["text"])} for g in gold]
    out["linking: event phrases"] = linking_scores(gold_ids, by_events)
    out["linking: whole headline"] = linking_scores(gold_ids, by_text)
    return out


@dataclass(frozen=True)
class GoldSetScores:
    """The scores of one gold file (`score_gold`'s dict) with its name and size."""

    name: str
    path: Path
    n_headlines: int
    scores: dict[str, dict[str, float]]


def score_gold_sets(
    pipeline: Any,
    paths: Sequence[Path] | None = None,
    *,
    root: Path = Path("."),
    textacy: bool = True,
) -> list[GoldSetScores]:
    """Score a pipeline (its `nlp`, `extractor` and `linker`) on each gold file, one result
    per file in order: `paths`, each named by its file name, or else the two `GOLD_SETS`
    (under `root`, the project root), named as there."""
    named = (
        [(p.name, Path(p)) for p in paths]
        if paths
        else [(name, root / p) for name, p in GOLD_SETS.items()]
    )
    out = []
    for name, path in named:
        gold = load_gold(path)
        scores = score_gold(
            gold, pipeline.nlp, pipeline.extractor, pipeline.linker, textacy=textacy
        )
        out.append(GoldSetScores(name=name, path=path, n_headlines=len(gold), scores=scores))
    return out
