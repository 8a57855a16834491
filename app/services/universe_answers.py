"""Answers of universe versions (app.services.universe): every stock's answer for a day,
ranked, and one stock's answer explained.

The answer for D (made at D's close, about D's next trading day) comes from the newest
version whose cut is at most D. It reads each stock's bars up to D and the news published
before D's close, rebuilt into the version's tables with its normalisers and embedding. A
version's saved parts (metadata, seeds' weights, embedding) are read once per process and
kept for the next answers (`_artifact`); only the tables of the asked day are built per
request. The answers are the schemas of app.schemas_universe.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import NoModel, NotFound, UnreadableModel
from app.schemas_universe import (
    CrossSectionAnswer,
    CrossSectionPublic,
    OwnNews,
    RelatedNews,
    UniverseEvent,
    UniverseExplanation,
    UniverseHeader,
    UniverseItem,
    UniverseStockPrediction,
)
from app.services.embeddings import embeddings_dir
from app.services.jobs import QUEUED, RUNNING, pending_error, pending_job
from app.services.stocknet_eval import item_vectors, load_stocks, universe_symbols
from app.services.universe import TARGET, UNIVERSE_MODEL
from app.tables import Event, ModelVersion, Price, TrainingJob
from kg.companies import RELATION_FEATURES
from kg.embed import EventEmbedder, KGEmbeddings
from models.universe import UniverseConfig, UniverseNet, predict_universe
from models.universe_data import (
    Scales,
    item_means,
    on_calendar,
    tradable_rows,
    universe_tables,
)

__all__ = ["cross_section", "explain", "stock_answer", "universe_of"]


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
    after = row.train_end if row is not None else None
    job = pending_job(
        session, symbol=universe, target=TARGET, after=after, until=day, universe=True
    )
    if job is not None:
        raise pending_error(session, job, f"universe {universe!r} on {day}")
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


@dataclass(frozen=True)
class _Artifact:
    """A version's saved parts: its metadata, settings, each seed's weights, and the event
    embedder of its embedding."""

    meta: dict[str, Any]
    config: UniverseConfig
    states: tuple[dict[str, Any], ...]
    embedder: EventEmbedder
    scales: Scales
    related: dict[str, list[tuple[str, np.ndarray]]]
    # each item's event vector under this version's embedder, by (item id, extractor
    # version): a version answering day after day (a backtest) embeds each item once
    items: dict[tuple[int, str], np.ndarray] = field(default_factory=dict, compare=False)


@lru_cache(maxsize=4)
def _artifact(folder: str, embeddings: str, graph: Any) -> _Artifact:
    """The saved parts of the version in `folder`, read once per process (a version's
    files never change: its name carries a digest of them)."""
    import torch

    try:
        meta = json.loads((Path(folder) / "meta.json").read_text())
        states = tuple(torch.load(Path(folder) / f"net-{seed}.pt") for seed in meta["seeds"])
        emb = KGEmbeddings.load(Path(embeddings) / meta["embedding_version"])
    except (OSError, ValueError, KeyError) as exc:
        raise UnreadableModel(
            f"universe version files in {folder} cannot be read ({exc}); train it again with "
            f"`kdtcn train-universe --universe {Path(folder).name.rsplit('-', 4)[0]}`"
        ) from None
    related = {
        s: [(r, np.array(f, np.float32)) for r, f in rel] for s, rel in meta["related"].items()
    }
    return _Artifact(
        meta,
        UniverseConfig(**meta["config"]),
        states,
        EventEmbedder(emb, graph=graph),
        Scales.from_json(meta["scales"]),
        related,
    )


def _served(
    session: Session, *, universe: str, day: dt.date, graph: Any, artifacts: Path
) -> _Served:
    row = _version_for(session, universe, day)
    saved = _artifact(row.artifact_path, str(embeddings_dir(artifacts)), graph)
    meta, config = saved.meta, saved.config
    first = day - dt.timedelta(days=7 * (config.window + 3))  # bars and news the window reads
    stocks = load_stocks(session, meta["symbols"], start=first, end=day)
    present = [s for s in stocks if s.dates and s.dates[-1] == day and len(s.dates) > config.window]
    missing = sorted(set(meta["symbols"]) - {s.symbol for s in present})
    if not present:
        raise NotFound(f"no stock of universe {universe!r} has a bar on {day}")
    vectors = item_vectors(session, present, saved.embedder, cache=saved.items)
    on_days, _ = on_calendar(present)  # row i is the same day for every stock
    t = len(on_days[0].dates) + 1  # room for the row predicted
    means, counts = item_means(on_days, vectors, "tradable", t)
    tables = universe_tables(
        on_days, saved.scales, means=means, counts=counts, related=saved.related, rows=t
    )
    nets = []
    for state in saved.states:
        net = UniverseNet(tables, use_events=True, use_related=True, config=config)
        net.load_state_dict(state, strict=False)
        nets.append(net)
    rows = np.full(len(on_days), t - 1)  # the row after `day`'s
    return _Served(row, meta, config, list(on_days), missing, tables, counts, nets, rows)


def _header(served: _Served, universe: str, day: dt.date) -> UniverseHeader:
    """The universe, day and version an answer states, and whether every item it read
    carries a publication time."""
    timed = all(not np.isnan(s.news_times).any() for s in served.stocks)
    return UniverseHeader(
        universe=universe,
        date=day.isoformat(),
        target=cast(Literal["next_day"], TARGET),  # a universe network's only target
        model=UNIVERSE_MODEL,
        version=served.row.version,
        cut=served.row.train_end.isoformat() if served.row.train_end else None,
        news_timing="timestamps" if timed else "dates only",
        tradable=timed,
    )


def cross_section(
    session: Session, *, universe: str, day: dt.date, graph: Any, artifacts: Path
) -> CrossSectionPublic:
    """Every stock's answer for `day` from the universe's point-in-time version, ranked by
    P(up) (see the module docstring); stocks without a bar on `day` are listed as missing."""
    served = _served(session, universe=universe, day=day, graph=graph, artifacts=artifacts)
    p = served.p()
    w = served.config.window
    order = np.argsort(-p, kind="stable")
    answers = [
        CrossSectionAnswer(
            rank=n + 1,
            symbol=served.stocks[k].symbol,
            p=round(float(p[k]), 6),
            call="up" if p[k] >= served.meta["cut"] else "down",
            items_read=int(served.counts[k, served.rows[k] - w : served.rows[k]].sum()),
        )
        for n, k in enumerate(order)
    ]
    return CrossSectionPublic(
        **dict(_header(served, universe, day)),
        decision_cut=float(served.meta["cut"]),
        n=len(answers),
        missing=served.missing,
        answers=answers,
    )


def universe_of(session: Session, symbol: str, day: dt.date | None) -> str | None:
    """The universe whose network answers `symbol` on `day` when asked without one: of the
    universes with a version whose cut is at most `day` (any cut without a day) that holds the
    symbol, the one with the newest such cut (ties: by name). Without such a version, a
    universe whose first version is queued or training and whose stocks include the symbol,
    so the answer is the 503 that names the job, not a 409. None when no universe does."""
    query = select(ModelVersion).where(ModelVersion.name == UNIVERSE_MODEL)
    if day is not None:
        query = query.where(ModelVersion.train_end <= day)
    rows = session.scalars(
        query.order_by(ModelVersion.train_end.desc(), ModelVersion.symbol, ModelVersion.id.desc())
    )
    for row in rows:
        if symbol in (row.config or {}).get("symbols", ()):
            return row.symbol
    jobs = select(TrainingJob.symbol).where(
        TrainingJob.name == UNIVERSE_MODEL, TrainingJob.status.in_((QUEUED, RUNNING))
    )
    if day is not None:
        jobs = jobs.where(TrainingJob.cut <= day)
    queued = session.scalars(jobs.order_by(TrainingJob.cut.desc(), TrainingJob.symbol)).all()
    for universe in dict.fromkeys(queued):
        try:
            members = universe_symbols(session, None if universe == "all" else universe)
        except ValueError:  # its stocks are gone since the job was queued
            continue
        if symbol in members:
            return universe
    return None


def stock_answer(
    session: Session,
    *,
    universe: str,
    symbol: str,
    day: dt.date | None,
    graph: Any,
    artifacts: Path,
) -> UniverseStockPrediction:
    """`symbol`'s answer for `day` (default: its newest bar) within `universe`'s
    cross-section: its P(up), call and rank among the universe's stocks that day."""
    day = day or _newest_bar(session, symbol)
    section = cross_section(session, universe=universe, day=day, graph=graph, artifacts=artifacts)
    mine = [a for a in section.answers if a.symbol == symbol]
    if not mine:
        raise NotFound(f"{symbol} is not a stock of universe {universe!r} with a bar on {day}")
    answer = mine[0]
    return UniverseStockPrediction(
        symbol=symbol,
        universe=universe,
        date=section.date,
        target=section.target,
        p=answer.p,
        p_up=answer.p,
        call=answer.call,
        direction=answer.call,
        decision_cut=section.decision_cut,
        rank=answer.rank,
        of=section.n,
        items_read=answer.items_read,
        model=section.model,
        version=section.version,
        cut=section.cut,
        in_sample=False,
        news_timing=section.news_timing,
        tradable=section.tradable,
    )


def _newest_bar(session: Session, symbol: str) -> dt.date:
    """The day of `symbol`'s newest bar: the day an answer asked without a date is for."""
    day = session.scalar(select(func.max(Price.date)).where(Price.symbol == symbol))
    if day is None:
        raise NotFound(f"no bars for symbol {symbol!r}")
    return day


MAX_ITEMS = 5  # items listed per stock in an explanation


def _items(session: Session, stock: Any, lo: int, hi: int) -> list[UniverseItem]:
    """The stock's items on rows [lo, hi) that have events, newest first, with their events."""
    at = tradable_rows(stock)
    chosen = [j for j in range(len(at)) if lo <= at[j] < hi]
    ids = [stock.news_ids[j] for j in chosen]
    events: dict[int, list[UniverseEvent]] = {}
    for event in session.scalars(
        select(Event).where(Event.headline_id.in_(ids)).order_by(Event.headline_id, Event.position)
    ):
        events.setdefault(event.headline_id, []).append(
            UniverseEvent(subject=event.subject, predicate=event.predicate, object=event.object)
        )
    out = []
    for j in sorted(chosen, key=lambda j: -np.nan_to_num(stock.news_times[j])):
        if stock.news_ids[j] not in events:
            continue
        when = stock.news_times[j]
        out.append(
            UniverseItem(
                id=stock.news_ids[j],
                text=stock.news_texts[j],
                published_at=None
                if np.isnan(when)
                else dt.datetime.fromtimestamp(float(when), dt.UTC).isoformat(),
                events=events[stock.news_ids[j]],
            )
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
    session: Session,
    *,
    universe: str,
    symbol: str,
    day: dt.date | None,
    graph: Any,
    artifacts: Path,
) -> UniverseExplanation:
    """One stock's answer for `day` (default: its newest bar) from the universe network,
    explained: its own items and each related stock's that it read, each with its effect
    (P(up) minus P(up) with those items left out), the attention the network gave the
    related stock, the relation and the chain of company facts that connects the two."""
    import torch

    day = day or _newest_bar(session, symbol)
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
            RelatedNews(
                symbol=other.symbol,
                relation=dict(
                    zip(RELATION_FEATURES, map(float, served.tables.relation[k, j]), strict=True)
                ),
                attention=round(float(weights[:, j].mean()), 6),
                effect=round(p - without(r), 6),
                path=_path(served.meta.get("facts", []), nodes, symbol, other.symbol),
                items=_items(session, other, lo, row),
            )
        )
    related.sort(key=lambda x: -abs(x.effect))
    own_effect = p - without(k) if served.counts[k, lo:row].sum() else 0.0
    return UniverseExplanation(
        **dict(_header(served, universe, day)),
        symbol=symbol,
        p=round(p, 6),
        call="up" if p >= served.meta["cut"] else "down",
        own=OwnNews(effect=round(own_effect, 6), items=_items(session, served.stocks[k], lo, row)),
        related=related,
    )
