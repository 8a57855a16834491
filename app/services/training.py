"""`kdtcn train`: fit one model on all stored data up to a date, save it, record it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy.orm import Session

from app.services.daily import collect_days
from app.services.embeddings import embeddings_dir
from app.services.model_versions import record_version
from app.services.prices import load_prices
from app.tables import ModelVersion
from kg.embed import EventEmbedder, KGEmbeddings
from models.artifact import save_artifact
from models.evaluate import NEURAL_MODELS
from models.features import Normaliser, price_features, up_labels
from models.inputs import event_rows as pooled_rows
from models.inputs import make_windows
from models.metrics import scores
from models.networks import SequenceClassifier
from models.train import (
    TrainConfig,
    fit_classifier,
    predict_proba,
    seed_everything,
    split_validation,
)

__all__ = ["SERVABLE", "train_and_register", "model_key"]

WINDOW = 20
# Models that serving can feed: prices and/or the KG-driven event embeddings.
SERVABLE = {name for name, spec in NEURAL_MODELS.items() if spec.events in (None, "kg_events")}


def model_key(name: str) -> str:
    """Case-insensitive lookup of a model name ("kdtcn" -> "KDTCN")."""
    for candidate in NEURAL_MODELS:
        if candidate.lower() == name.lower():
            return candidate
    raise KeyError(name)


def train_and_register(
    *,
    session: Session,
    artifacts: Path,
    graph: Any,
    symbol: str,
    target: str,
    name: str = "KDTCN",
    until: dt.date | None = None,
    embedding_version: str | None = None,
    seed: int = 0,
    config: TrainConfig | None = None,
) -> ModelVersion:
    """Train `name` on `symbol` with data up to `until`; weights etc. written atomically."""
    spec = NEURAL_MODELS[model_key(name)]
    if model_key(name) not in SERVABLE:
        raise ValueError(f"{name} needs an evaluation-only input; servable: {sorted(SERVABLE)}")
    torch.set_num_threads(2)
    prices = load_prices(session=session, symbol=symbol, end=until)
    if len(prices) < WINDOW + 30:
        raise ValueError(f"{symbol} has {len(prices)} days up to {until}; need {WINDOW + 30}")
    dates = [d.date() for d in prices.index]
    price_rows = price_features(prices).to_numpy(np.float32) if spec.prices else None
    event_rows = None
    if spec.events:
        if embedding_version is None:
            raise ValueError("an event model needs an embedding version (kdtcn kg embed)")
        emb = KGEmbeddings.load(embeddings_dir(artifacts) / embedding_version)
        embedder = EventEmbedder(emb, graph=graph)
        days = collect_days(session=session, dates=dates, embed=embedder.embed, dim=embedder.dim)
        event_rows = pooled_rows(days, embedder.dim)
    up = up_labels(prices)
    pn = Normaliser.fit(price_rows[1:]) if price_rows is not None else None
    en = Normaliser.fit(event_rows) if event_rows is not None else None
    windows = make_windows(
        pn.transform(price_rows) if pn else None,
        en.transform(event_rows) if en else None,
        up,
        window=WINDOW,
        target=target,
    )
    seed_everything(seed)  # initial weights from the seed
    network = SequenceClassifier(
        encoder=spec.encoder,
        price_dim=price_rows.shape[1] if spec.prices else 0,
        event_dim=event_rows.shape[1] if event_rows is not None else 0,
    )
    cfg = config or TrainConfig()
    network, history = fit_classifier(network, windows, config=cfg, seed=seed)
    _, val = split_validation(windows, cfg.val_fraction)
    val_metrics = scores(val.y, (predict_proba(network, val.x) >= 0.5).astype(np.int64))
    val_metrics = {
        **val_metrics,
        "n_days": int(len(val.y)),
        "majority_accuracy": float(max(val.y.mean(), 1 - val.y.mean())),
        "from": str(dates[int(val.anchor[0]) + 1]),
        "to": str(dates[-1]),
        "best_epoch": history.best_epoch,
    }
    train_end = dates[-1]
    version = (
        f"{model_key(name).lower()}-{target}-{train_end}-"
        f"{dt.datetime.now(dt.UTC).strftime('%Y%m%d%H%M%S')}"
    )
    config_out = {
        "name": model_key(name),
        "encoder": spec.encoder,
        "target": target,
        "window": WINDOW,
        "price_dim": network.price_dim,
        "event_dim": network.event_dim,
        "event_kind": spec.events,
        "embedding_version": embedding_version if spec.events else None,
        "train_start": str(dates[0]),
        "train_end": str(train_end),
        "version": version,
        "symbol": symbol,
        "seed": seed,
    }
    path = save_artifact(
        Path(artifacts) / "models" / symbol / version,
        network=network,
        config=config_out,
        price_norm=pn,
        event_norm=en,
        metrics=val_metrics,
    )
    return record_version(
        session=session,
        name=model_key(name),
        symbol=symbol,
        target=target,
        version=version,
        artifact_path=str(path),
        embedding_version=config_out["embedding_version"],
        train_start=dates[0],
        train_end=train_end,
        metrics=val_metrics,
        config=config_out,
    )
