"""The highway's bounded, sign-symmetric form, and the tuned hyper-parameters served."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.artifact import (
    ARTIFACT_FORMAT,
    ArtifactError,
    SavedConfig,
    load_artifact,
    save_artifact,
)
from models.networks import HIGHWAY_CLIP, NetParams, SequenceClassifier
from models.targets import get_target
from models.train import TrainConfig
from models.tuned import served_params, write_tuned


def _highway_only(form: str) -> SequenceClassifier:
    torch.manual_seed(0)
    net = SequenceClassifier(encoder="tcn", price_dim=2, event_dim=0, highway=3, highway_form=form)
    with torch.no_grad():  # silence the encoder: the logit is the linear path alone
        for p in net.head.parameters():
            p.zero_()
    return net.eval()


def test_the_highway_reads_magnitudes_and_stops_extrapolating_at_the_clip() -> None:
    net = _highway_only("signed_abs")
    with torch.no_grad():
        net.highway.weight.zero_()
        net.highway.weight[0, 6:] = 1.0  # weights on |x| only: a pure volatility reading
    x = torch.zeros(4, 10, 2)
    x[1, -1, 0] = 3.0  # a +3 sd day
    x[2, -1, 0] = -3.0  # a -3 sd day: the same magnitude
    x[3, -1, 0] = -50.0  # far outside the training range
    logit = net(x).detach()
    assert logit[1] == pytest.approx(logit[2])  # a crash reads as large as a rally
    assert logit[1] > logit[0]
    assert logit[3] == pytest.approx(logit[0] + HIGHWAY_CLIP)  # bounded, not 50


def test_signed_form_is_the_unclipped_linear_path_of_older_versions() -> None:
    net = _highway_only("signed")
    assert net.highway.in_features == 3 * 2
    with torch.no_grad():
        net.highway.weight.fill_(1.0)
    x = torch.zeros(1, 10, 2)
    x[0, -1, 0] = -50.0
    with torch.no_grad():
        assert float(net(x) - net(torch.zeros(1, 10, 2))) == pytest.approx(-50.0)
    with pytest.raises(ValueError, match="highway_form"):
        SequenceClassifier(encoder="tcn", price_dim=2, event_dim=0, highway=3, highway_form="x")


def _write_format_1(path: Path, net: torch.nn.Module, config: dict) -> Path:
    """A version folder as the code wrote it before SavedConfig (an untyped dict)."""
    path.mkdir()
    torch.save(net.state_dict(), path / "weights.pt")
    body = {**config, "price_norm": None, "event_norm": None}
    (path / "config.json").write_text(json.dumps(body))
    return path


def test_a_version_saved_without_a_highway_form_loads_as_signed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    net = _highway_only("signed")
    old = {"name": "TCN", "encoder": "tcn", "target": "next_day", "window": 10, "highway": 3}
    path = _write_format_1(tmp_path / "v", net, {**old, "price_dim": 2, "event_dim": 0})
    served = load_artifact(path)
    assert served.networks[0].highway_form == "signed"
    assert served.config.format == 1 and served.decision_cut == 0.5
    x = torch.randn(5, 10, 2)
    assert torch.allclose(served.networks[0](x), net(x))


def test_a_saved_config_round_trips_and_a_newer_format_names_the_rebuild(tmp_path) -> None:  # type: ignore[no-untyped-def]
    net = _highway_only("signed_abs")
    config = SavedConfig(
        "TCN", "tcn", "big_move", window=10, price_dim=2, event_dim=0, highway=3,
        highway_form="signed_abs", decision_cut=0.3, label_threshold=0.012, seeds=(4,),
    )  # fmt: skip
    path = save_artifact(
        tmp_path / "v", networks=[net], config=config, price_norm=None, event_norm=None, metrics={}
    )
    served = load_artifact(path)
    assert served.config == dataclasses.replace(config, net=net.params, n_networks=1)
    assert served.label_threshold == 0.012 and served.config.format == ARTIFACT_FORMAT
    stored = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**stored, "format": ARTIFACT_FORMAT + 1}))
    with pytest.raises(ArtifactError, match="kdtcn train --walk-forward"):
        load_artifact(path)
    without_target = {k: v for k, v in stored.items() if k != "target"}
    (path / "config.json").write_text(json.dumps(without_target))
    with pytest.raises(ArtifactError, match="no target"):
        load_artifact(path)


def _tuning(lr: float) -> dict:
    return {
        "net": {"hidden": 32, "levels": 2, "dropout": 0.3, "event_proj": 8},
        "lr": lr,
        "weight_decay": 1e-5,
        "best_mean_auc": 0.8,
        "default_mean_auc": 0.7,
        "n_trials": 6,
    }


def test_served_versions_use_the_search_only_when_it_precedes_their_cut(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tuned.json"
    write_tuned(
        {"big_move": {"KDTCN": _tuning(2e-3)}}, tuned_until="2014-12-31", source="t", path=path
    )
    base = TrainConfig()
    net, train, why = served_params("KDTCN", "big_move", dt.date(2015, 3, 31), base, path=path)
    assert net == NetParams(hidden=32, levels=2, dropout=0.3, event_proj=8)
    assert train == dataclasses.replace(base, lr=2e-3, weight_decay=1e-5)
    assert why["tuned_until"] == "2014-12-31" and why["searched_on"] == "DJIA"
    # A cut before the search's last day: its choice read later days, so the defaults.
    net, train, why = served_params("KDTCN", "big_move", dt.date(2013, 6, 28), base, path=path)
    assert (net, train) == (NetParams(), base)
    assert "after this cut" in why["why"]
    # Nothing tuned for that target or model.
    assert (
        served_params("KDTCN", "next_day", dt.date(2015, 3, 31), base, path=path)[0] == NetParams()
    )
    assert served_params(None, "big_move", dt.date(2015, 3, 31), base, path=path)[0] == NetParams()


def test_a_new_search_replaces_its_targets_and_keeps_the_others(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tuned.json"
    write_tuned(
        {"big_move": {"KDTCN": _tuning(2e-3)}, "next_day": {"TCN": _tuning(1e-3)}},
        tuned_until="2014-12-31",
        source="a",
        path=path,
    )
    write_tuned(
        {"big_move": {"KDTCN": _tuning(5e-4)}}, tuned_until="2014-12-31", source="b", path=path
    )
    saved = json.loads(path.read_text())["targets"]
    assert saved["big_move"]["KDTCN"]["lr"] == 5e-4
    assert saved["next_day"]["TCN"]["source"] == "a"


def test_served_kdtcn_uses_the_variant_chosen_before_its_cut(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.services.training import _variant_spec
    from models.tuned import served_variant
    from models.zoo import NEURAL_MODELS

    path = tmp_path / "tuned.json"
    scores = {"KDTCN (1/rank mean)": 0.77, "KDTCN (attention)": 0.79}
    write_tuned(
        {"big_move": {"KDTCN": _tuning(2e-3)}, "next_day": {"KDTCN": _tuning(2e-3)}},
        tuned_until="2014-12-31",
        source="t",
        selection={
            "big_move": {"chosen": "KDTCN (attention)", "validation_auc": scores},
            "next_day": {"chosen": "KDTCN+VADER", "validation_auc": scores},
        },
        path=path,
    )
    variant, why = served_variant("big_move", dt.date(2015, 3, 31), path=path)
    assert variant == "KDTCN (attention)" and why["variant_validation_auc"] == scores
    # chosen on days after the cut: the 1/rank mean
    assert served_variant("big_move", dt.date(2014, 6, 30), path=path)[0] is None
    assert served_variant("same_day", dt.date(2015, 3, 31), path=path) == (None, {})
    # training resolves the spec; a variant serving cannot feed falls back, and says so
    cut = dt.date(2015, 3, 31)
    spec, why = _variant_spec("KDTCN", get_target("big_move"), cut, path=path)
    assert spec == NEURAL_MODELS["KDTCN (attention)"] and spec.event_slots > 0
    spec, why = _variant_spec("KDTCN", get_target("next_day"), cut, path=path)
    assert spec == NEURAL_MODELS["KDTCN"] and "cannot feed" in why["variant_not_used"]
    assert "variant" not in why and why["variant_chosen"] == "KDTCN+VADER"
    assert _variant_spec("TCN", get_target("big_move"), cut, path=path) == (
        NEURAL_MODELS["TCN"],
        {},
    )


def test_an_attention_version_loads_with_its_event_slots(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    net = SequenceClassifier(encoder="tcn", price_dim=2, event_dim=4 * 5, event_slots=4).eval()
    with torch.no_grad():  # a trained scorer: the weights no longer start at the 1/rank mean
        net.attend[2].weight.normal_()
    config = SavedConfig(
        "KDTCN (attention)", "tcn", "next_day", window=10, price_dim=2, event_dim=20, event_slots=4
    )
    path = save_artifact(
        tmp_path / "v", networks=[net], config=config, price_norm=None, event_norm=None, metrics={}
    )
    served = load_artifact(path)
    assert served.event_slots == 4 and served.networks[0].event_slots == 4
    x = torch.randn(3, 10, 22)
    assert torch.allclose(served.networks[0](x), net(x), atol=1e-6)
    assert torch.allclose(served.networks[0].attention(x)[1], net.attention(x)[1], atol=1e-6)


def test_study_names_change_with_the_inputs_and_not_otherwise() -> None:
    """A study stored by name is resumed only by a run on the same data and code."""
    from evaluation.tune import study_key

    prices = np.arange(12, dtype=np.float32).reshape(6, 2)
    close = np.linspace(100, 110, 6)
    key = study_key(prices, None, close)
    assert key == study_key(prices.copy(), None, close.copy())
    changed = close.copy()
    changed[-1] += 0.01
    assert study_key(prices, None, changed) != key
    assert study_key(prices, np.ones((6, 3)), close) != key
