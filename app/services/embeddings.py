"""Training and loading the KG/event embedding artifacts from stored events."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.services.daily import news_of, to_kg_event
from app.tables import Event, Headline, HeadlineSymbol
from kg.embed import KGEmbeddings, event_triples, train_embeddings

__all__ = ["stored_event_triples", "build_embeddings", "embeddings_dir"]


def embeddings_dir(artifacts: Path) -> Path:
    """The folder under `artifacts` that holds one subfolder per embedding version."""
    return Path(artifacts) / "embeddings"


def stored_event_triples(
    *,
    session: Session,
    until: dt.date | None,
    symbol: str | None = None,
    symbols: Sequence[str] | None = None,
) -> list[tuple[str, str, str]]:
    """Event triples of `symbol`'s news (app.services.daily.news_of: world news for none),
    or with `symbols` of the items posted with any of them (a universe), dated up to
    `until`, in the order of their headlines (date, rank, id: ids follow the
    import) and of the events within each: not in storage order, which parallel extraction
    makes differ from build to build (and the order of the triples decides TransE's
    batches)."""
    scope = (
        Headline.id.in_(
            select(HeadlineSymbol.headline_id).where(HeadlineSymbol.symbol.in_(list(symbols)))
        )
        if symbols is not None
        else news_of(session, symbol)
    )
    stmt = select(Event).join(Headline).where(scope).options(selectinload(Event.entities))
    if until is not None:
        stmt = stmt.where(Headline.date <= until)
    stmt = stmt.order_by(Headline.date, Headline.rank, Headline.id, Event.position)
    return event_triples(to_kg_event(row) for row in session.scalars(stmt))


def build_embeddings(
    *,
    session: Session,
    kg_triples: list[tuple[str, str, str]] | None,
    artifacts: Path,
    until: dt.date | None,
    model: str = "TransE",
    dim: int = 32,
    epochs: int = 25,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
    symbol: str | None = None,
    symbols: Sequence[str] | None = None,
    extra_triples: Sequence[tuple[str, str, str]] = (),
) -> tuple[str, KGEmbeddings]:
    """Train on KG facts + the event triples of `symbol`'s news up to `until` (or event
    triples alone when `kg_triples` is None: the EB-TCN ablation), save, and return
    (version, embeddings). Without a symbol: world news (the demo's headlines); with
    `symbols`, a universe's news; `extra_triples` are further facts (kg.companies)."""
    events = stored_event_triples(session=session, until=until, symbol=symbol, symbols=symbols)
    triples = (kg_triples or []) + list(extra_triples) + events
    kind = "kg" if kg_triples else "nokg"
    # The version names its inputs: settings and the content of every triple, so changed
    # events (a new extractor or linker) never reuse stale vectors.
    hasher = hashlib.sha256(json.dumps([model, dim, epochs, seed, str(until)]).encode())
    for triple in sorted(set(triples)):
        hasher.update("\t".join(triple).encode() + b"\n")
    digest = hasher.hexdigest()[:8]
    version = f"{model.lower()}-{kind}-{until or 'all'}-{digest}"
    target = embeddings_dir(artifacts) / version
    if (target / "meta.json").exists():
        return version, KGEmbeddings.load(target)
    emb = train_embeddings(
        triples, model=model, dim=dim, epochs=epochs, seed=seed, progress=progress or False
    )
    emb.meta.update(
        {
            "version": version,
            "with_kg": bool(kg_triples),
            "n_event_triples": len(events),
            "until": str(until) if until else None,
        }
    )
    emb.save(target)
    return version, emb
