"""Where a rerun of the evaluation could depart from the committed one: the order in which
parallel extraction stores events, and the fits themselves in a fresh process."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import upgrade
from app.services.embeddings import stored_event_triples
from app.services.extraction import extract_chunk
from app.tables import Event, Headline
from kg.text import content_hash

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "Britain votes to leave the European Union",
    "Russia and China sign a gas deal",
    "Germany closes its border with Austria",
    "Japan raises the sales tax",
    "France bans the burqa in public places",
    "Israel strikes targets in Gaza",
    "Iran agrees to limit its nuclear programme",
    "Greece rejects the bailout terms",
]


def _build(tmp_path: Path, name: str, pipeline, shards: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        for i, text in enumerate(TEXTS):
            session.add(
                Headline(
                    source="test",
                    date=dt.date(2016, 6, 20 + i // 3),
                    rank=1 + i % 3,
                    text=text,
                    content_hash=content_hash(text),
                )
            )
    for shard in shards:  # as the bulk extraction's processes do, in either order
        extract_chunk(factory, pipeline, shard=shard)
    with factory() as session:
        triples = stored_event_triples(session=session, until=None)
        ids = session.scalars(select(Event.headline_id).order_by(Event.id)).all()
    engine.dispose()
    return triples, ids


def test_event_triples_do_not_depend_on_the_order_events_were_stored(tmp_path, pipeline) -> None:  # type: ignore[no-untyped-def]
    first, stored_a = _build(tmp_path, "a.sqlite3", pipeline, [(0, 2), (1, 2)])
    second, stored_b = _build(tmp_path, "b.sqlite3", pipeline, [(1, 2), (0, 2)])
    assert stored_a != stored_b  # the two builds did store their events in other orders
    assert first and first == second


_RUN = """
import json, sys
import numpy as np
import torch
sys.path.insert(0, {root!r})
from evaluation.folds import EvalConfig
from evaluation.harness import run_evaluation
from models.inputs import EVENT_SLOTS, stack_events
from models.train import TrainConfig
from tests.test_evaluate_harness import _djia

torch.set_num_threads(1)
prices = _djia()
rng = np.random.default_rng(0)
n = len(prices)
inputs = {{
    "kg_events": rng.normal(size=(n, 8)).astype(np.float32),
    "kg_event_sets": np.stack([
        stack_events(rng.normal(size=(k, 4)), np.arange(1, k + 1), EVENT_SLOTS)
        for k in rng.integers(0, 40, n)
    ]),
    "vader": rng.normal(size=(n, 4)).astype(np.float32),
}}
cfg = EvalConfig(
    train_end="2015-09-30", test_start="2015-10-01", test_end="2016-07-01", window=10,
    seeds=(0,), rolling_seeds=(0,), targets=("big_move",),
    schemes=("fixed_origin", "rolling_origin"), refit_every=120,
    models=("TCN", "KDTCN", "KDTCN (attention)"), train=TrainConfig(epochs=2, patience=1),
    n_resamples=100, tune_trials=2, regression=False,
)
result = run_evaluation(prices, inputs, config=cfg)
for key in ("seconds", "finished"):
    result["protocol"].pop(key)
for target in result["tuning"].values():
    for tuned in target.values():
        tuned.pop("seconds")
for chosen in result.get("selection", {{}}).values():
    chosen.pop("seconds")
print(json.dumps(result, sort_keys=True))
"""


def test_a_small_evaluation_gives_the_same_json_in_two_fresh_processes() -> None:
    """Search, variant choice, fits and statistics, each run from scratch in a process of
    its own: the JSON is identical (run times left out)."""
    code = _RUN.format(root=str(ROOT))
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        for _ in range(2)
    ]
    first = json.loads(outputs[0])
    assert set(first["selection"]["big_move"]["validation_auc"]) == {
        "KDTCN (1/rank mean)",
        "KDTCN (attention)",
        "KDTCN+VADER",
    }
    assert first["results"]["big_move"]["rolling_origin"]["models"]["KDTCN"]
    assert outputs[0] == outputs[1]
