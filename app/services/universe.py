"""Universe versions: one KDTCN across a universe's stocks (models.universe, with related
stocks' events), trained up to a cut, recorded, and served as a ranked cross-section.

A version of universe U with cut C is fitted on every stock's `next_day` samples whose
target day is at most C (every label it fits is known at C's close), reading the tradable
rows (models.universe_data). It keeps what serving must rebuild the same inputs: its stocks,
their relations, the normalisers fitted on its rows, the embedding that turns events into
vectors, the decision cut from its training samples and the networks of its seeds.

The answer for D (made at D's close, about D's next trading day) comes from the newest
version whose cut is at most D. It reads each stock's bars up to D and the news published
before D's close, and ranks the stocks by P(up).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import NoModel, NotFound
from app.services.embeddings import embeddings_dir
from app.services.stocknet_eval import (
    item_vectors,
    load_stocks,
    universe_knowledge,
    universe_symbols,
)
from app.tables import Event, ModelVersion, Price
from kg.companies import RELATION_FEATURES
from kg.embed import EventEmbedder, KGEmbeddings
from models.metrics import decision_cut
from models.universe import UniverseConfig, UniverseNet, fit_universe, predict_universe
from models.universe_data import (
    Scales,
    fit_scales,
    item_means,
    on_calendar,
    tradable_rows,
    universe_tables,
)

__all__ = [
    "UNIVERSE_MODEL",
    "train_universe",
    "universe_cuts",
    "recorded_cuts",
    "cross_section",
    "explain",
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


def train_universe(
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
) -> ModelVersion:
    """Train, save and record the version of `universe` (a stored universe, or `all`: every
    symbol with news of its own) with cut `until` (default: its newest bar; see the module
    docstring)."""
    symbols = universe_symbols(session, None if universe == "all" else universe)
    if not symbols:
        raise NotFound(f"universe {universe!r} has no stock with bars")
    if until is None:
        until = session.scalar(select(func.max(Price.date)).where(Price.symbol.in_(symbols)))
        assert until is not None
    stocks = [s for s in load_stocks(session, symbols, end=until) if len(s.dates) > 10]
    if not stocks:
        raise NotFound(f"universe {universe!r} has no stock with more than 10 bars up to {until}")
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
    days, _ = on_calendar(stocks)  # row i is the same day for every stock
    t = len(days[0].dates)
    means, counts = item_means(days, knowledge.kg_vectors, "tradable", t)
    scales = fit_scales(days, until + dt.timedelta(days=1), means)
    tables = universe_tables(days, scales, means=means, counts=counts, related=knowledge.related)
    if len(y) == 0:
        raise NotFound(f"universe {universe!r} has no sample up to {until}")
    probs, states = [], []
    for seed in seeds:
        net = fit_universe(
            tables, s_idx, rows, y, use_events=True, use_related=True, config=config, seed=seed
        )
        probs.append(predict_universe(net, s_idx, rows))
        states.append(net.state_dict())
    p = np.mean(probs, axis=0)
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
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:8]
    version = f"{universe}-{until}-{digest}"
    folder = Path(artifacts) / "universe" / version
    folder.mkdir(parents=True, exist_ok=True)
    import torch

    for seed, state in zip(seeds, states, strict=True):
        torch.save(state, folder / f"net-{seed}.pt")
    (folder / "meta.json").write_text(json.dumps(meta))
    row = ModelVersion(
        name=UNIVERSE_MODEL,
        symbol=universe,
        target=TARGET,
        version=version,
        artifact_path=str(folder),
        embedding_version=knowledge.embedding_version,
        train_start=stocks[0].dates[0],
        train_end=until,
        metrics={"n_samples": len(y), "train_accuracy": meta["train_accuracy"]},
        config={"symbols": meta["symbols"], "seeds": list(seeds), "cut": cut},
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
    say(f"{version}: {len(stocks)} stocks, {len(y)} samples, cut {cut:.3f}")
    return row


def _version_for(session: Session, universe: str, day: dt.date) -> ModelVersion:
    """The newest version of `universe` whose cut is at most `day` (NoModel without one)."""
    row = session.scalar(
        select(ModelVersion)
        .where(
            ModelVersion.name == UNIVERSE_MODEL,
            ModelVersion.symbol == universe,
            ModelVersion.train_end <= day,
        )
        .order_by(ModelVersion.train_end.desc(), ModelVersion.id.desc())
        .limit(1)
    )
    if row is None:
        raise NoModel(
            f"no version of universe {universe!r} with a cut at or before {day}; train one "
            f"with `kdtcn train-universe --universe {universe} --until {day}`"
        )
    return row


@dataclass
class _Served:
    """A version's inputs for day D: its stocks with a bar on D, their tables (with room for
    the row predicted), the networks of its seeds, and where each stock's row after D is."""

    row: ModelVersion
    meta: dict[str, Any]
    config: UniverseConfig
    stocks: list[Any]
    missing: list[str]
    tables: Any
    counts: np.ndarray
    nets: list[UniverseNet]
    rows: np.ndarray

    def p(self, k: np.ndarray | None = None) -> np.ndarray:
        """Mean P(up) of the seeds for stocks `k` (default all) at their row after D."""
        idx = np.arange(len(self.stocks)) if k is None else k
        return np.mean([predict_universe(n, idx, self.rows[idx]) for n in self.nets], axis=0)


def _served(
    session: Session, *, universe: str, day: dt.date, graph: Any, artifacts: Path
) -> _Served:
    import torch

    row = _version_for(session, universe, day)
    folder = Path(row.artifact_path)
    meta = json.loads((folder / "meta.json").read_text())
    config = UniverseConfig(**meta["config"])
    first = day - dt.timedelta(days=7 * (config.window + 3))  # bars and news the window reads
    stocks = load_stocks(session, meta["symbols"], start=first, end=day)
    present = [s for s in stocks if s.dates and s.dates[-1] == day and len(s.dates) > config.window]
    missing = sorted(set(meta["symbols"]) - {s.symbol for s in present})
    if not present:
        raise NotFound(f"no stock of universe {universe!r} has a bar on {day}")
    emb = KGEmbeddings.load(embeddings_dir(artifacts) / meta["embedding_version"])
    vectors = item_vectors(session, present, EventEmbedder(emb, graph=graph))
    on_days, _ = on_calendar(present)  # row i is the same day for every stock
    t = len(on_days[0].dates) + 1  # room for the row predicted
    means, counts = item_means(on_days, vectors, "tradable", t)
    related = {
        s: [(r, np.array(f, np.float32)) for r, f in rel] for s, rel in meta["related"].items()
    }
    tables = universe_tables(
        on_days,
        Scales.from_json(meta["scales"]),
        means=means,
        counts=counts,
        related=related,
        rows=t,
    )
    nets = []
    for seed in meta["seeds"]:
        net = UniverseNet(tables, use_events=True, use_related=True, config=config)
        net.load_state_dict(torch.load(folder / f"net-{seed}.pt"), strict=False)
        nets.append(net)
    rows = np.full(len(on_days), t - 1)  # the row after `day`'s
    return _Served(row, meta, config, list(on_days), missing, tables, counts, nets, rows)


def _header(served: _Served, universe: str, day: dt.date) -> dict[str, Any]:
    timed = all(not np.isnan(s.news_times).any() for s in served.stocks)
    return {
        "universe": universe,
        "date": day.isoformat(),
        "target": TARGET,
        "model": UNIVERSE_MODEL,
        "version": served.row.version,
        "cut": served.row.train_end.isoformat() if served.row.train_end else None,
        "news_timing": "timestamps" if timed else "dates only",
        "tradable": timed,
    }


def cross_section(
    session: Session, *, universe: str, day: dt.date, graph: Any, artifacts: Path
) -> dict[str, Any]:
    """Every stock's answer for `day` from the universe's point-in-time version, ranked by
    P(up) (see the module docstring); stocks without a bar on `day` are listed as missing."""
    served = _served(session, universe=universe, day=day, graph=graph, artifacts=artifacts)
    p = served.p()
    w = served.config.window
    order = np.argsort(-p, kind="stable")
    answers = [
        {
            "rank": n + 1,
            "symbol": served.stocks[k].symbol,
            "p": round(float(p[k]), 6),
            "call": "up" if p[k] >= served.meta["cut"] else "down",
            "items_read": int(served.counts[k, served.rows[k] - w : served.rows[k]].sum()),
        }
        for n, k in enumerate(order)
    ]
    return {
        **_header(served, universe, day),
        "n": len(answers),
        "missing": served.missing,
        "answers": answers,
    }


MAX_ITEMS = 5  # items listed per stock in an explanation


def _items(session: Session, stock: Any, lo: int, hi: int) -> list[dict[str, Any]]:
    """The stock's items on rows [lo, hi) that have events, newest first, with their events."""
    at = tradable_rows(stock)
    chosen = [j for j in range(len(at)) if lo <= at[j] < hi]
    ids = [stock.news_ids[j] for j in chosen]
    events: dict[int, list[dict[str, Any]]] = {}
    for event in session.scalars(
        select(Event).where(Event.headline_id.in_(ids)).order_by(Event.headline_id, Event.position)
    ):
        events.setdefault(event.headline_id, []).append(
            {"subject": event.subject, "predicate": event.predicate, "object": event.object}
        )
    out = []
    for j in sorted(chosen, key=lambda j: -np.nan_to_num(stock.news_times[j])):
        if stock.news_ids[j] not in events:
            continue
        when = stock.news_times[j]
        out.append(
            {
                "id": stock.news_ids[j],
                "text": stock.news_texts[j],
                "published_at": None
                if np.isnan(when)
                else dt.datetime.fromtimestamp(float(when), dt.UTC).isoformat(),
                "events": events[stock.news_ids[j]],
            }
        )
    return out[:MAX_ITEMS]


def _path(facts: list[list[str]], nodes: dict[str, str], a: str, b: str) -> list[list[str]]:
    """The shortest chain of company facts between two stocks, each fact as it points."""
    import networkx as nx

    g = nx.Graph()
    for head, relation, tail in facts:
        g.add_edge(head, tail, fact=[head, relation, tail])
    if nodes.get(a) not in g or nodes.get(b) not in g:
        return []
    try:
        hops = nx.shortest_path(g, nodes[a], nodes[b])
    except nx.NetworkXNoPath:
        return []
    return [g.edges[u, v]["fact"] for u, v in zip(hops, hops[1:], strict=False)]


def explain(
    session: Session, *, universe: str, symbol: str, day: dt.date, graph: Any, artifacts: Path
) -> dict[str, Any]:
    """One stock's answer for `day` from the universe network, explained: its own items and
    each related stock's that it read, each with its effect (P(up) minus P(up) with those
    items left out), the attention the network gave the related stock, the relation and the
    chain of company facts that connects the two."""
    import torch

    served = _served(session, universe=universe, day=day, graph=graph, artifacts=artifacts)
    where = {s.symbol: k for k, s in enumerate(served.stocks)}
    if symbol not in where:
        raise NotFound(f"{symbol} is not a stock of universe {universe!r} with a bar on {day}")
    k = where[symbol]
    w, row = served.config.window, int(served.rows[k])
    lo = row - w
    me = np.array([k])
    p = float(served.p(me)[0])

    def without(stock: int) -> float:
        saved = [n.events[stock, lo:row].clone() for n in served.nets]
        for n in served.nets:
            n.events[stock, lo:row] = 0.0  # no news: zero vectors and a zero count (masked)
        try:
            return float(served.p(me)[0])
        finally:
            for n, old in zip(served.nets, saved, strict=True):
                n.events[stock, lo:row] = old

    with torch.no_grad():
        weights = np.mean(
            [n.attention(torch.tensor(me), torch.tensor([row]))[0][0].numpy() for n in served.nets],
            axis=0,
        )  # (W, K)
    related_idx = served.tables.related[k]
    mask = served.tables.related_mask[k]
    nodes: dict[str, str] = served.meta.get("nodes", {})
    related = []
    for j in np.flatnonzero(mask):
        r = int(related_idx[j])
        if served.counts[r, lo:row].sum() == 0:
            continue  # no news of its own in the window: nothing of it was read
        other = served.stocks[r]
        related.append(
            {
                "symbol": other.symbol,
                "relation": dict(
                    zip(RELATION_FEATURES, map(float, served.tables.relation[k, j]), strict=True)
                ),
                "attention": round(float(weights[:, j].mean()), 6),
                "effect": round(p - without(r), 6),
                "path": _path(served.meta.get("facts", []), nodes, symbol, other.symbol),
                "items": _items(session, other, lo, row),
            }
        )
    related.sort(key=lambda x: -abs(x["effect"]))
    own_effect = p - without(k) if served.counts[k, lo:row].sum() else 0.0
    return {
        **_header(served, universe, day),
        "symbol": symbol,
        "p": round(p, 6),
        "call": "up" if p >= served.meta["cut"] else "down",
        "own": {
            "effect": round(own_effect, 6),
            "items": _items(session, served.stocks[k], lo, row),
        },
        "related": related,
    }


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
