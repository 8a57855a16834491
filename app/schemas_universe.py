"""Response shapes of a universe's ranked cross-section (GET /v1/predictions?universe=)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["CrossSectionAnswer", "CrossSectionPublic"]


class CrossSectionAnswer(BaseModel):
    """One stock's answer within the cross-section."""

    rank: int = Field(description="1 for the highest P(up)")
    symbol: str
    p: float = Field(description="P(the next trading day closes at or above D's close)")
    call: Literal["up", "down"] = Field(description="up when p is at or above the version's cut")
    items_read: int = Field(
        description="Items of the stock's own news with events in the window it read"
    )


class CrossSectionPublic(BaseModel):
    """A universe's answers for D, ranked."""

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
    n: int
    missing: list[str] = Field(description="Stocks of the version without a bar on D")
    answers: list[CrossSectionAnswer]
