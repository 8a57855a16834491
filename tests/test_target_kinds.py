"""A new kind of target is one class and a registry entry, nothing else.

`Rally` below is defined only here. Registered as a target, it is trained (a walk-forward
chain of price-only TCN versions on the bundled S&P 500 bars), served over real HTTP,
backtested and evaluated by the harness, with no change to the service or the harness.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import numpy as np
import pandas as pd
import pytest

from app.db import make_engine, make_sessionmaker, transaction
from app.importer import import_history
from app.migrate import upgrade
from app.services.walk_forward import train_walk_forward
from app.settings import PROJECT_ROOT, Settings
from evaluation.folds import EvalConfig
from evaluation.harness import run_evaluation
from models.kinds import TargetKind, log_returns
from models.targets import TARGETS, Target, register
from models.train import TrainConfig
from tests.conftest import DATA_DIR
from tests.liveserver import LiveServer, free_port

MOVE = 0.005


class Rally(TargetKind):
    """Whether the predicted day gains more than MOVE (a log return above it)."""

    name: ClassVar[str] = "rally"
    calls: ClassVar[tuple[str, str]] = ("rally", "no rally")
    directional: ClassVar[bool] = False
    compared_with: ClassVar[tuple[str, ...]] = ("Majority",)

    def labels(self, close: np.ndarray, threshold: float | None = None) -> np.ndarray:
        out = np.full(len(close), -1, dtype=np.int64)
        out[1:] = (log_returns(close)[1:] > MOVE).astype(np.int64)
        return out

    def outcome(self, threshold: float | None = None) -> str:
        return f"the predicted day gains more than {MOVE:.1%}"

    def reference_calls(self, prev_label: np.ndarray) -> dict[str, np.ndarray]:
        return {"never": np.zeros_like(prev_label), "persistence": prev_label}


@pytest.fixture(scope="module")
def rally() -> Iterator[Target]:
    target = register(
        Target("rally", "whether the first trading day after D gains > 0.5%", 0, kind=Rally())
    )
    yield target
    del TARGETS["rally"]


@pytest.fixture(scope="module")
def served(rally: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("rally")
    url = f"sqlite:///{root / 'kdtcn.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    report = import_history(
        "GSPC", DATA_DIR, factory, start=dt.date(2013, 1, 1), end=dt.date(2015, 6, 30)
    )
    assert report.prices_inserted > 600
    with transaction(factory) as session:
        train_walk_forward(
            session=session,
            artifacts=root / "artifacts",
            graph=None,
            symbol="GSPC",
            rules=(rally,),
            start=dt.date(2014, 12, 31),
            every=63,
            name="TCN",
            n_seeds=1,
            config=TrainConfig(epochs=3, patience=2),
            say=lambda _line: None,
        )
    settings = Settings(
        database_url=url,
        artifacts_dir=root / "artifacts",
        pystow_home=PROJECT_ROOT / "var" / "pystow",
        bootstrap=False,
    )
    from app.main import create_app

    with LiveServer(create_app(settings, pipeline_factory=None), free_port()) as server:
        yield server
    engine.dispose()


def test_a_toy_kind_is_served_with_its_own_calls(served: LiveServer) -> None:
    with httpx.Client(base_url=served.base_url, timeout=60) as client:
        body = client.get("/v1/predictions/GSPC", params={"target": "rally", "date": "2015-03-13"})
        assert body.status_code == 200, body.text
        answer = body.json()
        assert answer["target"] == "rally" and answer["outcome"].endswith("more than 0.5%")
        assert answer["call"] == ("rally" if answer["p"] >= answer["decision_cut"] else "no rally")
        assert answer["p_up"] is None and answer["direction"] is None and answer["price"] is None
        assert answer["model"]["name"] == "TCN" and answer["in_sample"] is False
        unknown = client.get("/v1/predictions/GSPC", params={"target": "rallye"})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "target"


def test_a_toy_kind_is_backtested_against_its_own_reference_rules(served: LiveServer) -> None:
    span = {"target": "rally", "start": "2015-01-02", "end": "2015-06-30"}
    with httpx.Client(base_url=served.base_url, timeout=60) as client:
        body = client.get("/v1/backtest/GSPC", params=span).json()
    rallies = _rallies().loc["2015-01-02":"2015-06-30"]
    assert body["n_days"] == len(rallies) and body["in_sample_days"] == 0
    assert [d["label"] for d in body["days"]] == rallies.tolist()
    assert set(body["classification"]) == {"model", "never", "persistence"}
    assert body["strategy"] is None  # no direction to trade
    assert {d["call"] for d in body["days"]} <= {"rally", "no rally"}


def test_a_toy_kind_is_evaluated_by_the_harness(rally: Target) -> None:
    config = EvalConfig(
        train_end="2014-12-31",
        test_start="2015-01-02",
        test_end="2015-06-30",
        window=10,
        seeds=(0,),
        targets=("rally",),
        schemes=("fixed_origin",),
        models=("TCN",),
        compared=("TCN",),
        train=TrainConfig(epochs=2, patience=1),
        n_resamples=50,
        regression=False,
        select_variant=False,
    )
    result: dict[str, Any] = run_evaluation(
        _gspc().loc["2013-01-01":"2015-06-30"], {}, config=config
    )
    block = result["results"]["rally"]["fixed_origin"]
    assert {"Majority", "TCN"} <= set(block["models"])
    assert set(block["bootstrap"]) == {"TCN - Majority"}
    rallies = _rallies().loc["2015-01-02":"2015-06-30"]
    assert block["n_days"] == len(rallies)
    assert block["share_positive"] == pytest.approx(float(rallies.mean()), abs=1e-12)


def _rallies() -> pd.Series:
    """Whether each day's close rose by more than MOVE in log terms, from the raw history."""
    close = _gspc()["adj_close"]
    return np.log(close / close.shift(1)) > MOVE


def _gspc() -> pd.DataFrame:
    from models.history import load_history

    return load_history("GSPC", DATA_DIR)
