"""The gold set is well formed, the scorers are right, and extraction stays above a floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.gold import extraction_scores, linking_scores, load_gold, textacy_tuples, tuple_key

GOLD = Path(__file__).parent / "gold" / "events_gold.jsonl"


@pytest.fixture(scope="module")
def gold() -> list[dict]:
    return load_gold(GOLD)


def test_gold_file_is_well_formed(gold, pipeline) -> None:  # type: ignore[no-untyped-def]
    assert len(gold) >= 150
    for item in gold:
        assert item["text"] and item["date"][:2] == "20"
        for t in item["tuples"]:
            assert set(t) == {"subject", "predicate", "object", "negated"}
        for e in item["entities"]:
            assert e["mention"] in item["text"]
            assert e["qid"] is None or e["qid"] in pipeline.graph


def test_extraction_scorer_matches_heads_one_to_one() -> None:
    gold = [[("britain", "leave", "union"), ("pound", "drop", "%")]]
    pred = [[("britain", "leave", "union"), ("britain", "leave", "union"), ("pound", "drop", None)]]
    s = extraction_scores(gold, pred)
    assert (s["true_positives"], s["n_pred"], s["n_gold"]) == (1, 3, 2)
    assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == 0.5
    assert (
        extraction_scores([[("fein", "call", "poll")]], [[("fein", "call for", "poll")]])["f1"]
        == 1.0
    )


def test_linking_scorer_counts_pairs() -> None:
    s = linking_scores([{"Q145", "Q458"}, set()], [{"Q145"}, {"Q30"}])
    assert s["precision"] == 0.5 and s["recall"] == 0.5


def test_extraction_beats_textacy_and_a_floor_on_the_gold_set(gold, pipeline) -> None:  # type: ignore[no-untyped-def]
    docs = list(pipeline.nlp.pipe([g["text"] for g in gold]))
    gold_tuples = [[(t["subject"], t["predicate"], t["object"]) for t in g["tuples"]] for g in gold]
    ours = extraction_scores(
        gold_tuples, [[tuple_key(e) for e in pipeline.extractor.extract_doc(d)] for d in docs]
    )
    theirs = extraction_scores(gold_tuples, [textacy_tuples(d) for d in docs])
    assert ours["f1"] >= 0.5
    assert ours["f1"] > theirs["f1"]
    linked = linking_scores(
        [{e["qid"] for e in g["entities"] if e["qid"]} for g in gold],
        [{x.entity_id for x in pipeline.linker.link_text(g["text"])} for g in gold],
    )
    assert linked["precision"] >= 0.75 and linked["recall"] >= 0.8
