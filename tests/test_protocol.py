"""The frozen protocol and its confirmation (evaluation.protocol, evaluation.confirm)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from evaluation.confirm import Plan, confirmation_config, fixed_tuning, run_confirmation
from evaluation.confirm_report import confirmation_markdown
from evaluation.protocol import (
    PROTOCOL_PATH,
    ProtocolError,
    current_protocol,
    differences,
    load_protocol,
    protocol_hash,
)
from models.tuned import TUNED_PATH
from models.zoo import NEURAL_MODELS

DATA = Path(__file__).resolve().parents[1] / "data"


def test_the_code_runs_the_frozen_protocol() -> None:
    """Any change to a model, a setting, a searched hyper-parameter or a statistic shows up
    here: freeze it anew (`kdtcn protocol freeze`), which needs a new confirmation."""
    frozen, digest = load_protocol()
    assert digest == protocol_hash(frozen)
    assert differences(frozen, current_protocol()) == []


def test_an_edited_protocol_file_is_refused(tmp_path: Path) -> None:
    stored = json.loads(PROTOCOL_PATH.read_text())
    stored["protocol"]["harness"]["seeds"] = [0]
    edited = tmp_path / "protocol.json"
    edited.write_text(json.dumps(stored))
    with pytest.raises(ProtocolError, match="sha256 does not match"):
        load_protocol(edited)
    with pytest.raises(ProtocolError, match="missing"):
        load_protocol(tmp_path / "absent.json")


def test_a_changed_setting_is_named(tmp_path: Path) -> None:
    tuned = json.loads(TUNED_PATH.read_text())
    tuned["targets"]["big_move"]["TCN"]["lr"] *= 2
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps(tuned))
    frozen, _ = load_protocol()
    assert differences(frozen, current_protocol(tuned_path=path)) == [
        "hyper_parameters.big_move.TCN.lr"
    ]


def test_confirmation_config_is_the_protocol_on_the_plans_days() -> None:
    protocol, _ = load_protocol()
    plan = Plan.of(protocol)
    cfg = confirmation_config(protocol, plan)
    assert (cfg.train_end, cfg.test_start, cfg.test_end) == (
        "2016-07-01",
        "2016-07-02",
        "2020-12-09",
    )
    assert cfg.seeds == tuple(protocol["harness"]["seeds"]) and cfg.tune_trials == 0
    assert not cfg.select_variant
    for name in cfg.models:  # the confirmation reads prices only
        assert NEURAL_MODELS[name].events is None
    tuned = json.loads(TUNED_PATH.read_text())["targets"]
    fixed = fixed_tuning(protocol)
    for target in ("next_day", "big_move", "next_close"):
        entry = tuned[target]["TCN"]
        assert fixed[target]["TCN"].train.lr == entry["lr"]
        assert fixed[target]["TCN"].net.hidden == entry["net"]["hidden"]
        assert fixed[target]["TCN"].train.epochs == protocol["train"]["epochs"]


@pytest.mark.slow
def test_a_small_confirmation_runs_end_to_end_and_names_its_hash() -> None:
    """The confirmation's own path (worker processes, bundled histories, fixed searched
    settings, report) on a shrunken protocol and days of the development period, so the
    sealed confirmation period is not read by the test suite."""
    protocol, _ = load_protocol()
    small = copy.deepcopy(protocol)
    small["harness"].update(seeds=[0], rolling_seeds=[0], n_resamples=200)
    small["harness"]["schemes"] = ["fixed_origin", "rolling_origin"]
    small["harness"]["targets"] = ["next_day", "big_move"]
    small["regression_options"].update(
        schemes=["fixed_origin"], level_models=[], denoised_models=[]
    )
    small["confirmation"].update(models=["TCN"], compared=["TCN"])
    digest = protocol_hash(small)
    plan = Plan(("GSPC",), "2011-01-03", "2014-06-30", "2014-07-01", "2015-03-31")
    run = run_confirmation(
        protocol=small, digest=digest, data_dir=DATA, plan=plan, workers=2, say=lambda _s: None
    )
    gspc = run["symbols"]["GSPC"]
    assert not run["plan_is_frozen"] and run["protocol_sha256"] == digest
    block = gspc["classifiers"]["results"]["big_move"]["rolling_origin"]
    assert set(block["models"]) >= {"TCN", "GARCH(1,1)", "HAR-LogReg", "Base rate"}
    assert set(block["bootstrap"]) == {"TCN - Base rate", "TCN - HAR-LogReg", "TCN - GARCH(1,1)"}
    assert gspc["classifiers"]["protocol"]["test_end"] == "2015-03-31"
    assert gspc["classifiers"]["protocol"]["source"]["last"] == "2015-03-31"
    assert "TCN" in gspc["regression"]["schemes"]["fixed_origin"]["models"]
    text = confirmation_markdown(run)
    assert digest in text and "**not** the protocol's frozen plan" in text
    assert "TCN - GARCH(1,1)" in text


def test_a_protocol_is_confirmed_once() -> None:
    """The committed confirmation names the frozen hash, and the command refuses to write
    over it (--again into another folder is how a rerun is compared)."""
    from typer.testing import CliRunner

    from app.cli import cli

    _, digest = load_protocol()
    committed = json.loads(
        (PROTOCOL_PATH.parents[1] / "docs" / "confirmation" / "confirmation.json").read_text()
    )
    assert committed["protocol_sha256"] == digest and committed["plan_is_frozen"]
    result = CliRunner().invoke(
        cli,
        ["evaluate", "--confirm", "--out", str(PROTOCOL_PATH.parents[1] / "docs" / "confirmation")],
    )
    assert result.exit_code != 0
    assert "already confirms" in result.output
