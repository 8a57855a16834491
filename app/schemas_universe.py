"""Response shapes of a universe's answers: its ranked cross-section (GET /v1/predictions?
universe=), a stock's answer and explanation from it, and its backtest; app.services.
universe_answers and universe_backtest build them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import Symbol

__all__ = [
    "UniverseBacktest",
    "UniverseDefinition",
    "UniverseList",
    "UniverseMember",
    "UniversePublic",
    "CrossSectionAnswer",
    "CrossSectionPublic",
    "UniverseExplanation",
    "UniverseHeader",
    "UniverseStockPrediction",
]


class UniverseMember(BaseModel):
    """A stock of a universe; company and sector feed the knowledge of companies
    (kg.companies: the sector relation, the company's entity)."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol = Field(description="1-15 characters from A-Z 0-9 . ^ -; it must have bars")
    company: str | None = Field(default=None, max_length=200)
    sector: str | None = Field(default=None, max_length=64)


class UniverseDefinition(BaseModel):
    """PUT /v1/universes/{name}: the universe's stocks (replacing what it held)."""

    model_config = ConfigDict(extra="forbid")

    members: list[UniverseMember] = Field(min_length=2, max_length=2000)


class UniversePublic(BaseModel):
    """A stored universe and its stocks."""

    universe: str
    members: list[UniverseMember]


class UniverseCount(BaseModel):
    universe: str
    n: int


class UniverseList(BaseModel):
    """GET /v1/universes."""

    universes: list[UniverseCount]


class CrossSectionAnswer(BaseModel):
    """One stock's answer within the cross-section."""

    rank: int = Field(description="1 for the highest P(up)")
    symbol: str
    p: float = Field(description="P(the next trading day closes at or above D's close)")
    call: Literal["up", "down"] = Field(description="up when p is at or above the version's cut")
    items_read: int = Field(
        description="Items of the stock's own news with events in the window it read"
    )


class UniverseHeader(BaseModel):
    """What a universe version's answers for D state first: the universe, the day, the
    version that answers and whether the news it read was timed."""

    universe: str
    date: str = Field(description="D: the answers are made at D's close")
    target: Literal["next_day"]
    model: str
    version: str
    cut: str | None = Field(description="The version's last fitted label day (at most D)")
    news_timing: Literal["timestamps", "dates only"] = Field(
        description="timestamps when every item read carries a publication time"
    )
    tradable: bool = Field(description="True when every item read was published before D's close")


class CrossSectionPublic(UniverseHeader):
    """A universe's answers for D, ranked."""

    decision_cut: float = Field(description="The version's cut, chosen on its training samples")
    n: int
    missing: list[str] = Field(description="Stocks of the version without a bar on D")
    answers: list[CrossSectionAnswer]


class UniverseStockPrediction(BaseModel):
    """GET /v1/predictions/{symbol} answered by a universe network: the stock's answer within
    its universe's cross-section for D (when the symbol has no version of its own, or
    `universe=` asks for it)."""

    symbol: str
    universe: str = Field(description="The universe whose network answered")
    date: str = Field(description="D: the answer is made at D's close")
    target: Literal["next_day"]
    p: float = Field(description="P(the next trading day closes at or above D's close)")
    p_up: float = Field(description="= p (next_day is a direction target)")
    call: Literal["up", "down"] = Field(description="up when p is at or above decision_cut")
    direction: Literal["up", "down"] = Field(description="= call")
    decision_cut: float = Field(description="The version's cut, chosen on its training samples")
    rank: int = Field(
        description="The stock's rank by p among the universe's stocks on D (1: highest)"
    )
    of: int = Field(description="How many stocks of the universe were ranked on D")
    items_read: int = Field(
        description="Items of the stock's own news with events in the window it read"
    )
    model: str
    version: str
    cut: str | None = Field(description="The version's last fitted label day (at most D)")
    in_sample: Literal[False] = Field(
        description="Always false: a universe version answers only days after its cut"
    )
    news_timing: Literal["timestamps", "dates only"] = Field(
        description="timestamps when every item read carries a publication time"
    )
    tradable: bool = Field(description="True when every item read was published before D's close")


class UniverseEvent(BaseModel):
    """An event of an item: (subject, predicate lemma, object)."""

    subject: str
    predicate: str
    object: str | None


class UniverseItem(BaseModel):
    """An item of news read by the answer, with its events."""

    id: int
    text: str
    published_at: str | None
    events: list[UniverseEvent]


class OwnNews(BaseModel):
    """The stock's own news in the window it read."""

    effect: float = Field(description="P(up) minus P(up) with the stock's own items left out")
    items: list[UniverseItem] = Field(description="Up to 5 items with events, newest first")


class RelatedNews(BaseModel):
    """A related stock whose news the answer read, and how it connects."""

    symbol: str
    relation: dict[str, float] = Field(
        description="same_sector, same_sub_industry, same_state (0/1), co_mentions (log 1+n)"
    )
    attention: float = Field(description="The network's mean attention on it over the window")
    effect: float = Field(description="P(up) minus P(up) with this stock's items left out")
    path: list[list[str]] = Field(
        description="The chain of company facts between the two stocks, [head, relation, tail]"
    )
    items: list[UniverseItem]


class UniverseExplanation(BaseModel):
    """One stock's answer from the universe network, with what it read and why."""

    universe: str
    date: str
    target: Literal["next_day"]
    model: str
    version: str
    cut: str | None
    news_timing: Literal["timestamps", "dates only"]
    tradable: bool
    symbol: str
    p: float
    call: Literal["up", "down"]
    own: OwnNews
    related: list[RelatedNews] = Field(description="By the size of their effect, largest first")


class UniverseVersionUsed(BaseModel):
    version: str
    cut: str | None


class UniverseBacktest(BaseModel):
    """GET /v1/backtest?universe=: the served cross-section of each trading day, scored."""

    universe: str
    start: str
    end: str
    target: Literal["next_day"]
    cost_bps: float = Field(description="Charged per unit of one-way turnover of the long-short")
    days: int = Field(description="Days scored: a version's answers and each stock's next close")
    samples: int = Field(description="Stock-days scored")
    skipped_days: list[str] = Field(
        description="Days without a version whose cut is at most the day (not answered)"
    )
    versions: list[UniverseVersionUsed]
    accuracy: float = Field(description="Share of stock-days whose call matched the move")
    always_up: float = Field(description="Share of stock-days that closed at or above D's close")
    cross_section: dict[str, Any] = Field(
        description="days, rank_ic (mean daily Spearman IC of P(up) against the next log "
        "return) and its 95% date-resampled interval, long_short_daily_net / _gross, "
        "long_short_annual_net, long_short_sharpe_net (top against bottom fifth, daily)"
    )
