"""Pydantic request/response schemas, one per direction."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from kg.text import clean_headline

__all__ = [
    "MAX_HEADLINE_CHARS",
    "HeadlineIn",
    "HeadlineBatch",
    "PriceBarIn",
    "PriceBatch",
    "WriteResult",
    "Symbol",
]

MAX_HEADLINE_CHARS = 1000
MAX_BATCH = 5000

Symbol = Annotated[str, StringConstraints(min_length=1, max_length=15, pattern=r"^[A-Z0-9.^\-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class HeadlineIn(_Strict):
    date: dt.date = Field(description="ISO date the headline belongs to (YYYY-MM-DD)")
    text: str = Field(description="Headline text; cleaned of b'...' artefacts, 1-1000 characters")
    rank: int | None = Field(default=None, ge=1, le=1000, description="1 = most popular of the day")
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "api"

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        return _require_iso_date(value)

    @field_validator("text")
    @classmethod
    def _clean_text(cls, value: str) -> str:
        if len(value) > 4 * MAX_HEADLINE_CHARS:
            raise ValueError(f"headline is longer than {MAX_HEADLINE_CHARS} characters")
        cleaned = clean_headline(value)
        if not cleaned:
            raise ValueError("headline is empty after cleaning")
        if len(cleaned) > MAX_HEADLINE_CHARS:
            raise ValueError(
                f"headline is {len(cleaned)} characters; at most {MAX_HEADLINE_CHARS} allowed"
            )
        return cleaned


class HeadlineBatch(_Strict):
    items: list[HeadlineIn] = Field(min_length=1, max_length=MAX_BATCH)


class PriceBarIn(_Strict):
    date: dt.date
    open: float
    high: float
    low: float
    close: float
    adj_close: float | None = Field(default=None, description="Defaults to close")
    volume: int = Field(ge=0, description="Shares traded, a non-negative integer")

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        return _require_iso_date(value)

    @field_validator("open", "high", "low", "close", "adj_close")
    @classmethod
    def _finite_positive(cls, value: float | None) -> float | None:
        if value is None:
            return value
        if not math.isfinite(value) or value <= 0:
            raise ValueError("must be a finite number greater than 0")
        return value

    @field_validator("volume", mode="before")
    @classmethod
    def _integral_volume(cls, value: object) -> object:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("volume must be a whole number")
        if isinstance(value, bool):
            raise ValueError("volume must be an integer")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> PriceBarIn:
        if self.low > self.high:
            raise ValueError("low must be <= high")
        for name in ("open", "close"):
            value = getattr(self, name)
            if not self.low <= value <= self.high:
                raise ValueError(f"{name} must lie between low and high")
        return self


class PriceBatch(_Strict):
    symbol: Symbol = Field(description="1-15 characters from A-Z 0-9 . ^ -")
    items: list[PriceBarIn] = Field(min_length=1, max_length=MAX_BATCH)


class WriteResult(BaseModel):
    received: int
    inserted: int
    already_present: int
    events_extracted: int | None = None


def _require_iso_date(value: object) -> object:
    """Accept only YYYY-MM-DD strings (or date objects); pydantic checks the calendar."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError("expected an ISO date YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not a calendar date: {exc}") from None
    raise ValueError("expected an ISO date string YYYY-MM-DD")
