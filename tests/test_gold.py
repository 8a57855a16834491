"""The gold set is well formed, the scorers are right, and extraction stays above a floor."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from kg.gold import (
    extraction_scores,
    linking_scores,
    load_gold,
    score_gold,
    score_gold_sets,
    textacy_tuples,
    tuple_key,
)

GOLD = Path(__file__).parent / "gold" / "events_gold.jsonl"
BLIND = Path(__file__).parent / "gold" / "events_blind.jsonl"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def gold() -> list[dict]:
    return load_gold(GOLD)


@pytest.mark.parametrize("path", [GOLD, BLIND], ids=["tuned", "blind"])
def test_gold_file_is_well_formed(path, pipeline) -> None:  # type: ignore[no-untyped-def]
    gold = load_gold(path)
    assert len(gold) >= 150
    assert [g["id"] for g in gold] == list(range(len(gold)))
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
    docs = list(pipeline.extractor.parse([g["text"] for g in gold]))
    gold_tuples = [[(t["subject"], t["predicate"], t["object"]) for t in g["tuples"]] for g in gold]
    ours = extraction_scores(
        gold_tuples, [[tuple_key(e) for e in pipeline.extractor.extract_doc(d)] for d in docs]
    )
    theirs = extraction_scores(gold_tuples, [textacy_tuples(d) for d in docs])
    assert ours["f1"] >= 0.7
    assert ours["f1"] > theirs["f1"]
    linked = linking_scores(
        [{e["qid"] for e in g["entities"] if e["qid"]} for g in gold],
        [{x.entity_id for x in pipeline.linker.link_text(g["text"])} for g in gold],
    )
    assert linked["precision"] >= 0.9 and linked["recall"] >= 0.9


def test_blind_set_is_the_recorded_draw_from_unused_dates() -> None:
    """scripts/draw_blind_gold.py reproduces the blind set; no date of the tuned set is in it."""
    spec = importlib.util.spec_from_file_location("draw", ROOT / "scripts" / "draw_blind_gold.py")
    assert spec is not None and spec.loader is not None
    draw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(draw)
    blind = load_gold(BLIND)
    assert [(b["date"], b["text"]) for b in blind] == [(d["date"], d["text"]) for d in draw.draw()]
    assert not {b["date"] for b in blind} & {g["date"] for g in load_gold(GOLD)}


def test_blind_set_floor(pipeline) -> None:  # type: ignore[no-untyped-def]
    """A floor under the honest figures (regression guard only: rules are not tuned on it)."""
    s = score_gold(load_gold(BLIND), pipeline.nlp, pipeline.extractor, pipeline.linker)
    assert s["extraction: kdtcn rules"]["f1"] >= 0.65
    assert s["extraction: kdtcn rules"]["f1"] > s["extraction: textacy SVO"]["f1"]
    linked = s["linking: whole headline"]
    assert linked["precision"] >= 0.8 and linked["recall"] >= 0.8


def test_score_gold_sets_names_the_default_sets_and_given_files(pipeline) -> None:  # type: ignore[no-untyped-def]
    results = score_gold_sets(pipeline, root=ROOT, textacy=False)
    assert [(r.name, r.path, r.n_headlines) for r in results] == [
        ("tuned on", ROOT / "tests/gold/events_gold.jsonl", 155),
        ("blind", ROOT / "tests/gold/events_blind.jsonl", 150),
    ]
    blind = results[1].scores
    assert blind == score_gold(
        load_gold(BLIND), pipeline.nlp, pipeline.extractor, pipeline.linker, textacy=False
    )
    given = score_gold_sets(pipeline, [BLIND], textacy=False)
    assert [(r.name, r.path, r.scores) for r in given] == [("events_blind.jsonl", BLIND, blind)]


def test_kg_gold_command_reports_both_sets() -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    result = CliRunner().invoke(cli, ["kg", "gold"])
    assert result.exit_code == 0, result.output
    assert "tuned on: events_gold.jsonl, 155 headlines" in result.output
    assert "blind: events_blind.jsonl, 150 headlines" in result.output
    assert result.output.count("extraction: kdtcn rules") == 2
