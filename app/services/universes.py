"""Named universes a user defines (PUT /v1/universes/{name}): the stocks a universe network
trains on, ranks and evaluates (`kdtcn train-universe --universe NAME`, `GET
/v1/predictions?universe=NAME`, `kdtcn evaluate --dataset stocknet --universe NAME`), kept
in app.tables.UniverseStock beside the universes an import stores (`stocknet`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.domain import InvalidInput, NotFound
from app.tables import Price, UniverseStock

__all__ = ["RESERVED", "define_universe", "list_universes", "universe_members"]

RESERVED = "all"  # every symbol with news of its own: not a stored universe


def define_universe(session: Session, name: str, members: list[Any]) -> dict[str, Any]:
    """Make `members` (symbol, company, sector) the stocks of universe `name`, replacing what
    it held; every symbol must have bars. Nothing is written when one is refused."""
    if name == RESERVED:
        raise InvalidInput("name", f"{RESERVED!r} names every symbol with news; pick another name")
    seen: set[str] = set()
    for i, member in enumerate(members):
        if member.symbol in seen:
            raise InvalidInput(f"members[{i}].symbol", f"{member.symbol} is listed twice")
        seen.add(member.symbol)
    with_bars = set(session.scalars(select(Price.symbol).where(Price.symbol.in_(seen)).distinct()))
    for i, member in enumerate(members):
        if member.symbol not in with_bars:
            raise InvalidInput(
                f"members[{i}].symbol",
                f"{member.symbol} has no bars; POST /v1/prices for it first",
            )
    session.execute(delete(UniverseStock).where(UniverseStock.universe == name))
    session.add_all(
        UniverseStock(universe=name, symbol=m.symbol, company=m.company, sector=m.sector)
        for m in members
    )
    session.flush()
    return universe_members(session, name)


def universe_members(session: Session, name: str) -> dict[str, Any]:
    """The stocks of universe `name`, by symbol (NotFound when it holds none)."""
    rows = session.scalars(
        select(UniverseStock).where(UniverseStock.universe == name).order_by(UniverseStock.symbol)
    ).all()
    if not rows:
        raise NotFound(f"no universe {name!r}; define it with PUT /v1/universes/{name}")
    return {
        "universe": name,
        "members": [{"symbol": r.symbol, "company": r.company, "sector": r.sector} for r in rows],
    }


def list_universes(session: Session) -> list[dict[str, Any]]:
    """Every stored universe and how many stocks it holds."""
    rows = session.execute(
        select(UniverseStock.universe, func.count())
        .group_by(UniverseStock.universe)
        .order_by(UniverseStock.universe)
    )
    return [{"universe": u, "n": int(n)} for u, n in rows]
