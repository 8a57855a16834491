"""Knowledge of companies: each stock of a universe as a node of the graph, its facts, and the
relations between stocks that a model may read.

A stock's node is its Wikidata entity when the local subgraph has one whose label is the
company's name (suffixes such as "Inc." or "Corporation" left out: "Apple Inc." is Q312),
else a node of its own, "stock:<SYMBOL>". Its facts, as triples for the knowledge-graph
embedding (kg.embed), come from what is on disk:

* sector (the universe's list), as `kd:sector` -> "sector:<name>";
* GICS sub-industry and headquarters where the S&P 500 list (`data/reference/
  sp500_constituents.csv`, a snapshot of today, not of the data's years) names the company,
  as `kd:sub_industry` -> "gics:<name>", `kd:headquarters` -> "hq:<city, state>" and
  `kd:state` -> "state:<state>";
* its ticker as the word events make of a cashtag (`kd:ticker` -> "w:aapl"), so the events
  of tweets that name "$AAPL" sit next to the stock in the graph;
* co-mentions: `kd:co_mentioned` between two stocks named together (symbols of one item) in
  at least `min_co_mentions` items dated before a cut, counted on training days only.

`relations` turns the same facts into each ordered pair's relation features (same sector,
same sub-industry, same state, log co-mentions), which the universe model reads as the input
of its attention over related stocks.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

Triple = tuple[str, str, str]

__all__ = [
    "Company",
    "RELATION_FEATURES",
    "MIN_CO_MENTIONS",
    "load_reference",
    "companies_of",
    "stock_node",
    "co_mentions",
    "company_triples",
    "relations",
]

EXACT_SCORE = 0.95  # an exact or normalised label match (kg.link scores fuzzy ones lower)
MIN_CO_MENTIONS = 5  # fixed before any result: fewer joint items is chance, not a relation
RELATION_FEATURES = ("same_sector", "same_sub_industry", "same_state", "co_mentions")

_SUFFIX = re.compile(
    r"(?:[\s,]+(?:inc\.?|incorporated|corporation|corp\.?|company|co\.|limited|ltd\.?|plc|"
    r"s\.a\.|sa/nv|n\.v\.|ag|group|holdings?))+\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Company:
    """A stock of a universe and what is known of its company."""

    symbol: str
    name: str | None = None
    sector: str | None = None
    sub_industry: str | None = None
    headquarters: str | None = None  # "City, State" as the reference writes it
    entity: str | None = None  # its Wikidata Q-id in the local subgraph, if any

    @property
    def state(self) -> str | None:
        """The last part of the headquarters ("California" of "Cupertino, California")."""
        if not self.headquarters:
            return None
        return self.headquarters.rsplit(",", 1)[-1].strip() or None


def _ref_key(symbol: str) -> str:
    return symbol.upper().replace("-", ".")


def load_reference(path: Path) -> dict[str, dict[str, str]]:
    """The S&P 500 list by symbol ("BRK.B" style): security, sub-industry, headquarters."""
    out: dict[str, dict[str, str]] = {}
    with Path(path).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            out[_ref_key(row["Symbol"])] = {
                "security": row.get("Security", ""),
                "sub_industry": row.get("GICS Sub-Industry", ""),
                "headquarters": row.get("Headquarters Location", ""),
            }
    return out


def _plain_name(name: str) -> str:
    plain = _SUFFIX.sub("", name.strip())
    return re.sub(r"^the\s+", "", plain, flags=re.IGNORECASE).strip(" ,")


def _entity(linker: Any, name: str | None) -> str | None:
    """The entity whose label is the company's name as written or without its suffixes (an
    exact or normalised match, not a fuzzy one), else None: a part of the name ("Royal Dutch
    Shell" -> Netherlands) or a near miss ("General Electric CF6") is not the company."""
    if linker is None or not name:
        return None
    for phrase in dict.fromkeys([name.strip(), _plain_name(name)]):
        if not phrase:
            continue
        links = linker.link_phrase(phrase, 0, len(phrase))
        if (
            len(links) == 1
            and links[0].start == 0
            and links[0].end == len(phrase)
            and links[0].score >= EXACT_SCORE
        ):
            return str(links[0].entity_id)
    return None


def companies_of(
    members: Iterable[tuple[str, str | None, str | None]],
    *,
    reference: Mapping[str, Mapping[str, str]] | None = None,
    linker: Any | None = None,
) -> list[Company]:
    """The companies of (symbol, company name, sector) rows: the reference's sub-industry and
    headquarters where it lists the symbol (no guess where it does not), the Wikidata entity
    where `linker` (kg.link.EntityLinker) links the whole name, or the reference's name."""
    out = []
    for symbol, name, sector in members:
        ref = (reference or {}).get(_ref_key(symbol), {})
        entity = _entity(linker, name) or _entity(linker, ref.get("security"))
        out.append(
            Company(
                symbol=symbol,
                name=name or ref.get("security") or None,
                sector=sector or None,
                sub_industry=ref.get("sub_industry") or None,
                headquarters=ref.get("headquarters") or None,
                entity=entity,
            )
        )
    return sorted(out, key=lambda c: c.symbol)


def stock_node(company: Company) -> str:
    """The company's node in the graph: its Wikidata entity, else "stock:<SYMBOL>"."""
    return company.entity or f"stock:{company.symbol}"


def co_mentions(
    items: Iterable[tuple[dt.date, Sequence[str]]],
    *,
    symbols: Iterable[str],
    before: dt.date,
) -> Counter[tuple[str, str]]:
    """Items naming two stocks of `symbols` together, per unordered pair (a, b), a < b,
    counted over items dated before `before` only (training days: later co-mentions would
    carry what happened in the test period)."""
    keep = set(symbols)
    out: Counter[tuple[str, str]] = Counter()
    for day, named in items:
        if day >= before:
            continue
        inside = sorted(set(named) & keep)
        for i, a in enumerate(inside):
            for b in inside[i + 1 :]:
                out[(a, b)] += 1
    return out


def company_triples(
    companies: Sequence[Company],
    co: Mapping[tuple[str, str], int],
    *,
    min_co_mentions: int = MIN_CO_MENTIONS,
) -> list[Triple]:
    """The facts of `companies` (see the module docstring) as (head, relation, tail)."""
    node = {c.symbol: stock_node(c) for c in companies}
    out: list[Triple] = []
    for c in companies:
        me = node[c.symbol]
        out.append((me, "kd:ticker", f"w:{c.symbol.lower()}"))
        if c.sector:
            out.append((me, "kd:sector", f"sector:{c.sector}"))
        if c.sub_industry:
            out.append((me, "kd:sub_industry", f"gics:{c.sub_industry}"))
        if c.headquarters:
            out.append((me, "kd:headquarters", f"hq:{c.headquarters}"))
        if c.state:
            out.append((me, "kd:state", f"state:{c.state}"))
    for (a, b), count in sorted(co.items()):
        if count >= min_co_mentions and a in node and b in node:
            out.append((node[a], "kd:co_mentioned", node[b]))
    return out


def relations(
    companies: Sequence[Company],
    co: Mapping[tuple[str, str], int],
    *,
    min_co_mentions: int = MIN_CO_MENTIONS,
) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Each stock's related stocks with their relation features (RELATION_FEATURES: 1.0 for
    a shared sector, sub-industry or state, log(1 + co-mentions) from `min_co_mentions`
    on), in symbol order; a pair with none of these is not related."""
    out: dict[str, list[tuple[str, np.ndarray]]] = {c.symbol: [] for c in companies}
    for c in companies:
        for r in companies:
            if r.symbol == c.symbol:
                continue
            count = co.get((min(c.symbol, r.symbol), max(c.symbol, r.symbol)), 0)
            feats = np.array(
                [
                    float(c.sector is not None and c.sector == r.sector),
                    float(c.sub_industry is not None and c.sub_industry == r.sub_industry),
                    float(c.state is not None and c.state == r.state),
                    math.log1p(count) if count >= min_co_mentions else 0.0,
                ],
                dtype=np.float32,
            )
            if feats.any():
                out[c.symbol].append((r.symbol, feats))
    return out
