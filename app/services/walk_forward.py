"""Walk-forward chains: a version per cut, every N trading days, each scored on the trading
days after its cut up to the next cut (out of sample: what a version serves as its metrics).

One embedding serves a chain, built from data up to its first cut, so it precedes every cut.
A chain is fitted inline (`train_walk_forward`, in the caller's transaction) or queued as
training jobs (`enqueue_walk_forward`, app.services.jobs) that runners fit one cut at a time
(`fit_cut`) with the same fitting step (app.services.training.fit_version), data, settings
and seeds, so both give the same versions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy.orm import Session

from app.services.jobs import enqueue
from app.services.model_versions import out_of_sample_line
from app.services.prices import load_prices
from app.services.series import Series, choose_embedding, load_series
from app.services.training import (
    SERVED_SEEDS,
    Trained,
    cut_row,
    fit_version,
    save_and_record,
    servable,
)
from app.settings import TRAIN_THREADS
from app.tables import ModelVersion
from models.targets import Target
from models.train import TrainConfig
from models.zoo import NEURAL_MODELS

__all__ = [
    "chain_cuts",
    "enqueue_walk_forward",
    "fit_cut",
    "train_walk_forward",
    "walk_forward_cuts",
]


def walk_forward_cuts(dates: Sequence[dt.date], start: dt.date, every: int) -> list[int]:
    """Rows of the cuts: the last trading day before `start`, then every `every` trading
    days while a day after the cut is stored."""
    if every < 1:
        raise ValueError("every must be at least 1 trading day")
    first = cut_row(list(dates), start - dt.timedelta(days=1))
    return list(range(first, len(dates) - 1, every))


def chain_cuts(
    dates: Sequence[dt.date], start: dt.date, every: int
) -> list[tuple[dt.date, dt.date]]:
    """A walk-forward chain's versions as (cut, last day scored): each is scored on the
    trading days after its cut up to the next cut (the last one up to the newest bar)."""
    cuts = walk_forward_cuts(dates, start, every)
    ends = [*cuts[1:], len(dates) - 1]
    return [(dates[c], dates[e]) for c, e in zip(cuts, ends, strict=True)]


def fit_cut(
    *,
    series: Series,
    symbol: str,
    rule: Target,
    cut: dt.date,
    score_end: dt.date | None,
    name: str = "KDTCN",
    seed: int = 0,
    n_seeds: int = SERVED_SEEDS,
    config: TrainConfig | None = None,
) -> Trained:
    """The version of the target `rule` of a chain, fitted up to the trading day `cut` and
    scored on the days after it up to `score_end` (a training job's work; not saved)."""
    dates = series.dates
    if cut not in dates or (score_end is not None and score_end not in dates):
        raise ValueError(f"{symbol}: the cut {cut} or {score_end} is not a stored trading day")
    row = dates.index(cut)
    end = dates.index(score_end) if score_end is not None else row
    return fit_version(
        series=series,
        symbol=symbol,
        rule=rule,
        name=servable(name),
        cut=row,
        score_days=np.arange(row + 1, end + 1),
        seeds=range(seed, seed + n_seeds),
        config=config or TrainConfig(),
    )


def _chain(
    session: Session, symbol: str, name: str, start: dt.date, every: int
) -> tuple[str, list[tuple[dt.date, dt.date]]]:
    """The servable model's zoo name and the chain's (cut, last day scored) on `symbol`'s
    stored trading days."""
    dates = [d.date() for d in load_prices(session=session, symbol=symbol).index]
    cuts = chain_cuts(dates, start, every)
    if not cuts:
        raise ValueError(f"no trading day of {symbol} after {start}")
    return servable(name), cuts


def enqueue_walk_forward(
    *,
    session: Session,
    artifacts: Path,
    graph: Any,
    symbol: str,
    targets: Sequence[str],
    start: dt.date,
    every: int = 63,
    name: str = "KDTCN",
    seed: int = 0,
    n_seeds: int = SERVED_SEEDS,
    embedding_version: str | None = None,
    config: TrainConfig | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[int, str | None]:
    """Queue the chain `train_walk_forward` would fit, a training job per target and cut
    (app.services.jobs), for runners to train; the embedding they share is built (or the one
    named checked) here. How many jobs were queued (a cut already queued or trained on the
    same embedding is not queued again), and the embedding."""
    name, cuts = _chain(session, symbol, name, start, every)
    version, until = None, None
    if NEURAL_MODELS[name].events is not None:
        until = cuts[0][0]
        version, _ = choose_embedding(
            session=session,
            artifacts=artifacts,
            graph=graph,
            until=until,
            embedding_version=embedding_version,
            progress=progress,
            symbol=symbol,
        )
    added = 0
    for target in targets:
        added += enqueue(
            session,
            symbol=symbol,
            target=target,
            cuts=cuts,
            embedding_version=version,
            embedding_until=until,
            name=name,
            seed=seed,
            n_seeds=n_seeds,
            train=_config_overrides(config),
        )
    return added, version


def _config_overrides(config: TrainConfig | None) -> dict[str, Any]:
    """The fields of `config` that differ from TrainConfig's defaults (what a job stores)."""
    if config is None:
        return {}
    default = dataclasses.asdict(TrainConfig())
    return {k: v for k, v in dataclasses.asdict(config).items() if default[k] != v}


def train_walk_forward(
    *,
    session: Session,
    artifacts: Path,
    graph: Any,
    symbol: str,
    rules: Sequence[Target],
    start: dt.date,
    every: int = 63,
    name: str = "KDTCN",
    seed: int = 0,
    n_seeds: int = SERVED_SEEDS,
    config: TrainConfig | None = None,
    embedding_version: str | None = None,
    say: Callable[[str], None] = print,
    progress: Callable[[int, int, float], None] | None = None,
) -> list[ModelVersion]:
    """A chain of versions per target of `rules`, one per cut (see `walk_forward_cuts`).

    One embedding serves the whole chain: built from data up to the first cut, so it
    precedes every cut. Each version is scored on the days up to the next cut.
    """
    name, cuts = _chain(session, symbol, name, start, every)
    torch.set_num_threads(TRAIN_THREADS)
    first_cut = cuts[0][0]
    series = load_series(
        session=session,
        artifacts=artifacts,
        graph=graph,
        symbol=symbol,
        events=NEURAL_MODELS[name].events is not None,
        embedding_until=first_cut,
        embedding_version=embedding_version,
        progress=progress,
    )
    if series.embedding_version:
        say(f"embedding {series.embedding_version} (data up to {first_cut})")
    out = []
    for rule in rules:
        for cut, score_end in cuts:
            trained = fit_cut(
                series=series,
                symbol=symbol,
                rule=rule,
                cut=cut,
                score_end=score_end,
                name=name,
                seed=seed,
                n_seeds=n_seeds,
                config=config,
            )
            row = save_and_record(session, artifacts, trained)
            say(f"{rule.name} up to {row.train_end}: {out_of_sample_line(row.metrics)}")
            out.append(row)
    return out
