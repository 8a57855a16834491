"""Trained model versions recorded in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.tables import ModelVersion

__all__ = [
    "out_of_sample_line",
    "record_version",
    "latest_version",
    "version_for",
    "list_versions",
    "count_by_target",
]


def record_version(
    *,
    session: Session,
    name: str,
    symbol: str,
    target: str,
    version: str,
    artifact_path: str,
    embedding_version: str | None,
    train_start: dt.date | None,
    train_end: dt.date | None,
    metrics: dict[str, Any],
    config: dict[str, Any],
) -> ModelVersion:
    """Add a row for a trained version (`train_end`: its cut, the last day whose label it
    was fitted on) and flush it, so its id is assigned; the caller's transaction commits."""
    row = ModelVersion(
        name=name,
        symbol=symbol,
        target=target,
        version=version,
        artifact_path=artifact_path,
        embedding_version=embedding_version,
        train_start=train_start,
        train_end=train_end,
        metrics=metrics,
        config=config,
    )
    session.add(row)
    session.flush()
    return row


def latest_version(
    *, session: Session, symbol: str, target: str, name: str | None = None
) -> ModelVersion | None:
    """The most recently recorded version of `symbol` and `target` (of model `name`, if
    given), whatever its cut; None if there is none."""
    stmt = select(ModelVersion).where(ModelVersion.symbol == symbol, ModelVersion.target == target)
    if name:
        stmt = stmt.where(ModelVersion.name == name)
    return session.scalars(stmt.order_by(ModelVersion.id.desc()).limit(1)).first()


def version_for(
    *, session: Session, symbol: str, target: str, trained_until: dt.date
) -> ModelVersion | None:
    """The version to answer with when its labels may run up to `trained_until`: the one
    with the newest cut, the most recently trained among equals."""
    stmt = select(ModelVersion).where(
        ModelVersion.symbol == symbol,
        ModelVersion.target == target,
        ModelVersion.train_end <= trained_until,
    )
    order = (ModelVersion.train_end.desc(), ModelVersion.id.desc())
    return session.scalars(stmt.order_by(*order).limit(1)).first()


def list_versions(*, session: Session) -> list[ModelVersion]:
    """Every recorded version, of all symbols and targets, most recently recorded first."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def count_by_target(*, session: Session) -> dict[str, int]:
    """How many versions are recorded per target (all symbols and model names), by target."""
    rows = session.execute(
        select(ModelVersion.target, func.count()).group_by(ModelVersion.target)
    ).all()
    return {target: n for target, n in sorted(rows)}


def out_of_sample_line(metrics: dict[str, Any] | None) -> str:
    """A version's out-of-sample figures in one line (classifier or regressor)."""
    oos = (metrics or {}).get("out_of_sample")
    if not oos:
        return "out of sample: no stored day after the cut"
    head = f"out of sample: {oos['n_days']} days {oos['from']}..{oos['to']}, "
    if "theil_u" in oos:
        return head + (
            f"RMSE {oos['rmse']:.2f}, Theil's U {oos['theil_u']:.3f} (< 1 beats the random "
            f"walk), {oos['interval_coverage']:.0%} of closes inside the 80% interval"
        )
    return head + (
        f"accuracy {oos['accuracy']:.3f} (majority {oos['majority_accuracy']:.3f}), "
        f"mcc {oos['mcc']:.3f}"
    )
