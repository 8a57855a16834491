"""Universe versions: one KDTCN across a universe's stocks (models.universe, with related
stocks' events), trained up to a cut and recorded; app.services.universe_answers serves
them as a ranked cross-section and explains their answers.

A version of universe U with cut C is fitted on every stock's `next_day` samples whose
target day is at most C (every label it fits is known at C's close), reading the tradable
rows (models.universe_data). It keeps what serving must rebuild the same inputs: its stocks,
their relations, the normalisers fitted on its rows, the embedding that turns events into
vectors, the decision cut from its training samples and the networks of its seeds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import NotFound
from app.services.stocknet_eval import load_stocks, universe_knowledge, universe_symbols
from app.settings import TRAIN_THREADS
from app.tables import ModelVersion, Price
from models.metrics import decision_cut
from models.universe import UniverseConfig, UniverseTables, fit_universe, predict_universe
from models.universe_data import (
    Scales,
    fit_scales,
    item_means,
    on_calendar,
    universe_tables,
)

if TYPE_CHECKING:
    from models.universe_data import NeuralInputs

__all__ = [
    "UNIVERSE_MODEL",
    "TARGET",
    "FittedUniverse",
    "fit_universe_version",
    "record_universe",
    "recorded_cuts",
    "save_universe",
    "train_universe",
    "universe_cuts",
]

UNIVERSE_MODEL = "kdtcn-universe"  # ModelVersion.name; ModelVersion.symbol is the universe
TARGET = "next_day"
SEEDS = (0, 1, 2)


def _labels(
    stocks: Sequence[Any], row_of: dict[dt.date, int], until: dt.date, window: int
) -> tuple[np.ndarray, ...]:
    """(stock index, calendar row, label) of every sample whose target day is at most
    `until`: up when the stock closes at or above its previous close."""
    s_idx, rows, ys = [], [], []
    for k, s in enumerate(stocks):
        for i in range(window + 1, len(s.dates)):
            if s.dates[i] > until:
                break
            s_idx.append(k)
            rows.append(row_of[s.dates[i]])
            ys.append(float(s.adj_close[i] >= s.adj_close[i - 1]))
    return np.array(s_idx, np.int64), np.array(rows, np.int64), np.array(ys, np.float32)


@dataclass(frozen=True)
class FittedUniverse:
    """A universe version fitted but not yet saved or recorded (`fit_universe_version`)."""

    meta: dict[str, Any]  # what serving rebuilds its inputs from (module docstring)
    states: list[dict[str, Any]]  # the networks' weights, in the order of meta["seeds"]
    train_start: dt.date
    until: dt.date


def train_universe(
    session: Session,
    *,
    artifacts: Path,
    say: Callable[[str], None] = lambda _line: None,
    **fit: Any,
) -> ModelVersion:
    """Train, save and record a version: `fit_universe_version` with `fit` (the universe,
    stored or `all`: every symbol with news of its own; the cut `until`, default its newest
    bar; the graph, linker, reference list, epochs and seeds), then `save_universe` and
    `record_universe` (in the caller's transaction)."""
    fitted = fit_universe_version(session, artifacts=artifacts, say=say, **fit)
    return record_universe(session, fitted, save_universe(artifacts, fitted), say=say)


def fit_universe_version(
    session: Session,
    *,
    universe: str,
    until: dt.date | None,
    graph: Any,
    linker: Any,
    artifacts: Path,
    reference: Path,
    epochs: int = 25,
    seeds: Sequence[int] = SEEDS,
    say: Callable[[str], None] = lambda _line: None,
) -> FittedUniverse:
    """Fit the version of `universe` with cut `until` (train_universe's arguments) on
    TRAIN_THREADS torch threads, as every served fit, so that `kdtcn train-universe` and a
    training job give the same version. Reads the database only (the embedding is cached
    under `artifacts`)."""
    import torch

    torch.set_num_threads(TRAIN_THREADS)
    stocks, until = _stocks(session, universe, until)
    knowledge = universe_knowledge(
        session,
        stocks,
        graph=graph,
        linker=linker,
        artifacts=artifacts,
        reference=reference,
        train_end=until + dt.timedelta(days=1),
        universe=None if universe == "all" else universe,
        epochs=epochs,
        say=say,
    )
    config = UniverseConfig()
    s_idx, rows, y = _labels(stocks, on_calendar(stocks)[1], until, config.window)
    tables, scales = _tables(stocks, knowledge, until)
    if len(y) == 0:
        raise NotFound(f"universe {universe!r} has no sample up to {until}")
    p, states = _fit_seeds(tables, s_idx, rows, y, config, seeds)
    cut = decision_cut(p, y)
    meta = {
        "universe": universe,
        "target": TARGET,
        "until": until.isoformat(),
        "symbols": [s.symbol for s in stocks],
        "related": {
            s: [(r, [float(v) for v in f]) for r, f in rel] for s, rel in knowledge.related.items()
        },
        "scales": scales.to_json(),
        "embedding_version": knowledge.embedding_version,
        "facts": [list(t) for t in knowledge.facts],
        "nodes": knowledge.nodes,
        "config": vars(config),
        "seeds": list(seeds),
        "cut": cut,
        "n_samples": len(y),
        "train_accuracy": float(np.mean((p >= cut) == (y == 1))),
    }
    return FittedUniverse(meta, states, stocks[0].dates[0], until)


def _stocks(session: Session, universe: str, until: dt.date | None) -> tuple[list[Any], dt.date]:
    """The universe's stocks with more than 10 bars up to the cut, and the cut (`until`, by
    default the universe's newest bar); NotFound when there are none."""
    symbols = universe_symbols(session, None if universe == "all" else universe)
    if not symbols:
        raise NotFound(f"universe {universe!r} has no stock with bars")
    if until is None:
        until = session.scalar(select(func.max(Price.date)).where(Price.symbol.in_(symbols)))
        assert until is not None
    stocks = [s for s in load_stocks(session, symbols, end=until) if len(s.dates) > 10]
    if not stocks:
        raise NotFound(f"universe {universe!r} has no stock with more than 10 bars up to {until}")
    return stocks, until


def _tables(
    stocks: Sequence[Any], knowledge: NeuralInputs, until: dt.date
) -> tuple[UniverseTables, Scales]:
    """The universe's input tables on its shared calendar (normalised with scales fitted on
    the days up to `until`), and those scales."""
    days, _ = on_calendar(stocks)  # row i is the same day for every stock
    t = len(days[0].dates)
    means, counts = item_means(days, knowledge.kg_vectors, "tradable", t)
    scales = fit_scales(days, until + dt.timedelta(days=1), means)
    tables = universe_tables(days, scales, means=means, counts=counts, related=knowledge.related)
    return tables, scales


def _fit_seeds(
    tables: UniverseTables,
    s_idx: np.ndarray,
    rows: np.ndarray,
    y: np.ndarray,
    config: UniverseConfig,
    seeds: Sequence[int],
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """One network per seed fitted on the samples; their mean P(up) on those samples, and
    their weights (in the order of `seeds`)."""
    probs, states = [], []
    for seed in seeds:
        net = fit_universe(
            tables, s_idx, rows, y, use_events=True, use_related=True, config=config, seed=seed
        )
        probs.append(predict_universe(net, s_idx, rows))
        states.append(net.state_dict())
    return np.mean(probs, axis=0), states


def save_universe(artifacts: Path, fitted: FittedUniverse) -> tuple[str, Path]:
    """Write a fitted version's networks and meta under a name that its universe, cut and a
    digest of the meta make; the name and the folder."""
    import torch

    meta = fitted.meta
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:8]
    version = f"{meta['universe']}-{meta['until']}-{digest}"
    folder = Path(artifacts) / "universe" / version
    folder.mkdir(parents=True, exist_ok=True)
    for seed, state in zip(meta["seeds"], fitted.states, strict=True):
        torch.save(state, folder / f"net-{seed}.pt")
    (folder / "meta.json").write_text(json.dumps(meta))
    return version, folder


def record_universe(
    session: Session,
    fitted: FittedUniverse,
    saved: tuple[str, Path],
    *,
    say: Callable[[str], None] = lambda _line: None,
) -> ModelVersion:
    """The recorded row of a saved version (`save_universe`'s name and folder): the one
    already recorded under its name, else a new one (flushed in the caller's transaction)."""
    meta, (version, folder) = fitted.meta, saved
    universe = meta["universe"]
    row = ModelVersion(
        name=UNIVERSE_MODEL,
        symbol=universe,
        target=TARGET,
        version=version,
        artifact_path=str(folder),
        embedding_version=meta["embedding_version"],
        train_start=fitted.train_start,
        train_end=fitted.until,
        metrics={"n_samples": meta["n_samples"], "train_accuracy": meta["train_accuracy"]},
        config={"symbols": meta["symbols"], "seeds": meta["seeds"], "cut": meta["cut"]},
    )
    existing = session.scalar(
        select(ModelVersion).where(
            ModelVersion.name == UNIVERSE_MODEL,
            ModelVersion.symbol == universe,
            ModelVersion.version == version,
        )
    )
    if existing is not None:
        return existing
    session.add(row)
    session.flush()
    stocks, samples = len(meta["symbols"]), meta["n_samples"]
    say(f"{version}: {stocks} stocks, {samples} samples, cut {meta['cut']:.3f}")
    return row


def universe_cuts(session: Session, *, universe: str, start: dt.date, every: int) -> list[dt.date]:
    """A walk-forward chain's cuts: the last trading day of the universe before `start`,
    then every `every` trading days while a later trading day remains to predict."""
    symbols = universe_symbols(session, None if universe == "all" else universe)
    days = list(
        session.scalars(
            select(Price.date).where(Price.symbol.in_(symbols)).distinct().order_by(Price.date)
        )
    )
    before = [k for k, d in enumerate(days) if d < start]
    if not before:
        raise NotFound(f"universe {universe!r} has no trading day before {start}")
    return [days[k] for k in range(before[-1], len(days) - 1, max(1, every))]


def recorded_cuts(session: Session, universe: str) -> set[dt.date]:
    """The cuts of `universe`'s recorded versions."""
    return {
        d
        for d in session.scalars(
            select(ModelVersion.train_end).where(
                ModelVersion.name == UNIVERSE_MODEL, ModelVersion.symbol == universe
            )
        )
        if d is not None
    }
