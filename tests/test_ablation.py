"""The knowledge ablation (evaluation.ablation): KDTCN with and without the WD40k facts under
the frozen protocol, compared by the harness's paired bootstrap."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from typer.testing import CliRunner

from evaluation.ablation import (
    KNOWLEDGE_PAIR,
    knowledge_config,
    knowledge_markdown,
    run_knowledge_ablation,
)
from evaluation.protocol import load_protocol, protocol_hash
from tests.test_evaluate_harness import _djia

PAIR = f"{KNOWLEDGE_PAIR[0]} - {KNOWLEDGE_PAIR[1]}"


def test_the_config_is_the_frozen_harness_on_the_development_split() -> None:
    protocol, _ = load_protocol()
    cfg = knowledge_config(protocol)
    dev = protocol["development"]
    assert (cfg.train_end, cfg.test_start, cfg.test_end) == (
        dev["train_end"],
        dev["test_start"],
        dev["test_end"],
    )
    assert cfg.models == KNOWLEDGE_PAIR and cfg.schemes == ("fixed_origin",)
    assert cfg.baselines == () and cfg.compared == () and not cfg.regression
    assert cfg.tune_trials == 0 and not cfg.select_variant
    assert list(cfg.seeds) == protocol["harness"]["seeds"]
    assert cfg.window == protocol["harness"]["window"]
    assert cfg.train.epochs == protocol["train"]["epochs"]


def test_a_small_ablation_compares_the_pair_on_every_target() -> None:
    """A shrunken protocol (2 seeds, 2 epochs, late development days) on real DJIA prices
    and two different event inputs: each target's two rows and their paired difference,
    the difference on the full sample equal to the rows' own figures, Holm over the run."""
    protocol, _ = load_protocol()
    small = copy.deepcopy(protocol)
    small["harness"].update(seeds=[0, 1], n_resamples=200, window=10)
    small["train"].update(epochs=2, patience=1)
    small["development"].update(
        train_end="2015-09-30", test_start="2015-10-01", test_end="2016-07-01"
    )
    digest = protocol_hash(small)
    prices = _djia()
    rng = np.random.default_rng(0)
    inputs = {
        "kg_events": rng.normal(size=(len(prices), 8)).astype(np.float32),
        "events_nokg": rng.normal(size=(len(prices), 8)).astype(np.float32),
    }
    with pytest.raises(ValueError, match="events_nokg"):
        run_knowledge_ablation(
            prices, {"kg_events": inputs["kg_events"]}, protocol=small, digest=digest
        )
    said: list[str] = []
    result = run_knowledge_ablation(
        prices, inputs, protocol=small, digest=digest, progress=said.append
    )
    assert len(said) == 3 * 2 * 2  # targets x models x seeds
    assert result["ablation"]["protocol_sha256"] == digest
    assert result["protocol"]["holm_family"] == 3 * 2  # targets x (AUC, MCC)
    assert set(result["results"]) == {"next_day", "same_day", "big_move"}
    for target, schemes in result["results"].items():
        assert set(schemes) == {"fixed_origin"}
        block = schemes["fixed_origin"]
        assert set(block["models"]) == set(KNOWLEDGE_PAIR)
        assert set(block["bootstrap"]) == {PAIR}
        with_facts, without = (block["models"][m]["ensemble"]["all"] for m in KNOWLEDGE_PAIR)
        assert with_facts != without, target  # each read its own events
        ci = block["bootstrap"][PAIR]
        for metric in ("auc", "mcc"):
            assert ci[metric]["diff"] == pytest.approx(with_facts[metric] - without[metric])
            assert ci[metric]["low"] <= ci[metric]["high"]
            assert ci[metric]["p_value"] <= ci[metric]["p_holm"] <= 1.0
        assert block["models"][KNOWLEDGE_PAIR[0]]["n_seeds"] == 2
    result["protocol"]["symbol"] = "DJIA"
    text = knowledge_markdown(result)
    line = next(x for x in text.splitlines() if x.startswith(f"- {PAIR}: "))
    assert digest in text and "MCC" in line and "AUC" in line
    assert text.count("## `") == 3


def test_the_command_names_an_unknown_ablation() -> None:
    from app.cli import cli

    result = CliRunner().invoke(cli, ["evaluate", "--ablation", "facts"])
    assert result.exit_code == 2
    assert "--ablation" in result.output and "knowledge" in result.output
