"""Pydantic request/response schemas, one per direction."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kg.text import clean_headline
from models.calendar import new_york_date

__all__ = [
    "BoundedDate",
    "MAX_HEADLINE_CHARS",
    "PlainText",
    "check_plain_text",
    "HeadlineIn",
    "HeadlineBatch",
    "PriceBarIn",
    "PriceBatch",
    "WriteResult",
    "Symbol",
]

MAX_HEADLINE_CHARS = 1000
MAX_BATCH = 5000
MAX_SYMBOLS = 50

Symbol = Annotated[str, StringConstraints(min_length=1, max_length=15, pattern=r"^[A-Z0-9.^\-]+$")]

MIN_DATE, MAX_DATE = dt.date(1800, 1, 1), dt.date(2200, 12, 31)
MAX_VOLUME = 2**63 - 1  # a signed 64-bit integer, the column's range on both backends

# C0 controls other than whitespace, DEL and C1 controls. Whitespace controls (tab, newlines)
# collapse to a space when a headline is cleaned; these are rejected instead of stored,
# on SQLite and PostgreSQL alike (PostgreSQL cannot store NUL at all). ESC is among them, so
# ANSI escape sequences are rejected too.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_plain_text(value: str) -> str:
    """Reject lone surrogates and control characters, naming the first one and its position."""
    for pattern, what in ((_SURROGATE, "a lone surrogate"), (_CONTROL, "a control character")):
        found = pattern.search(value)
        if found:
            raise ValueError(
                f"contains {what} (U+{ord(found.group()):04X}) at position {found.start()}; "
                "text must be valid Unicode without control characters other than whitespace"
            )
    return value


def check_date_range(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"date must lie between {MIN_DATE} and {MAX_DATE}")
    return value


PlainText = Annotated[str, AfterValidator(check_plain_text)]
BoundedDate = Annotated[dt.date, AfterValidator(check_date_range)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class HeadlineIn(_Strict):
    """One item of news to store (a headline or a tweet): its text (cleaned on input), a date
    or the UTC instant it was published (or both), and optionally its rank of the day, the
    symbols it is about, its source and its id at that source."""

    published_at: dt.datetime | None = Field(
        default=None,
        description="When it was published: ISO 8601 with a time zone (Z or an offset), "
        "stored in UTC. Without it the item counts as published at the end of its date",
    )
    date: BoundedDate | None = Field(
        default=None,
        validate_default=True,
        description="ISO date the item belongs to (YYYY-MM-DD); defaults to the New York "
        "date of published_at. One of date and published_at is required",
    )
    text: str = Field(
        description="Headline text, 1-1000 characters after cleaning (b'...' artefacts and HTML "
        "entities undone, whitespace collapsed); control characters other than whitespace and "
        "lone surrogates are rejected"
    )
    rank: int | None = Field(default=None, ge=1, le=1000, description="1 = most popular of the day")
    source: Annotated[PlainText, StringConstraints(min_length=1, max_length=64)] = "api"
    symbols: list[Symbol] = Field(
        default_factory=list,
        max_length=MAX_SYMBOLS,
        description="Tickers the item is about (a tweet's cashtags without the $), at most "
        f"{MAX_SYMBOLS}; a symbol's news is the items posted with it",
    )
    id: Annotated[PlainText, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None,
        description="The item's id at its source (a tweet id): an item whose source and id "
        "are stored already is not stored again, whatever else it carries",
    )

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        return value if value is None else _require_iso_date(value)

    @field_validator("date")
    @classmethod
    def _date_or_published(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        if value is not None or "published_at" not in info.data:
            return value  # dated, or published_at was rejected with its own error
        published = info.data["published_at"]
        if published is None:
            raise ValueError("give date, published_at or both")
        return new_york_date(published)

    @field_validator("published_at")
    @classmethod
    def _aware_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return value
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("published_at needs a time zone (e.g. 2015-10-22T20:05:00Z or +00:00)")
        check_date_range(value.date())
        return value.astimezone(dt.UTC)

    @field_validator("symbols")
    @classmethod
    def _sorted_symbols(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @field_validator("text")
    @classmethod
    def _clean_text(cls, value: str) -> str:
        if len(value) > 4 * MAX_HEADLINE_CHARS:
            raise ValueError(f"headline is longer than {MAX_HEADLINE_CHARS} characters")
        cleaned = clean_headline(check_plain_text(value))
        if not cleaned:
            raise ValueError("headline is empty after cleaning")
        if len(cleaned) > MAX_HEADLINE_CHARS:
            raise ValueError(
                f"headline is {len(cleaned)} characters; at most {MAX_HEADLINE_CHARS} allowed"
            )
        return cleaned

    @property
    def day(self) -> dt.date:
        """The item's date (set from published_at when it was not given)."""
        assert self.date is not None
        return self.date


class HeadlineBatch(_Strict):
    """The body of POST /v1/headlines: 1 to 5000 headlines, written in one transaction."""

    items: list[HeadlineIn] = Field(min_length=1, max_length=MAX_BATCH)


class PriceBarIn(_Strict):
    """One daily bar: finite positive prices, open and close between low and high, and the
    volume traded; `adj_close` defaults to `close` when stored."""

    date: BoundedDate
    open: float
    high: float
    low: float
    close: float
    adj_close: float | None = Field(default=None, description="Defaults to close")
    volume: int = Field(
        ge=0, le=MAX_VOLUME, description="Shares traded, a non-negative integer below 2^63"
    )

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
    """The body of POST /v1/prices: a symbol and 1 to 5000 of its daily bars, written in one
    transaction."""

    symbol: Symbol = Field(description="1-15 characters from A-Z 0-9 . ^ -")
    items: list[PriceBarIn] = Field(min_length=1, max_length=MAX_BATCH)


class WriteResult(BaseModel):
    """The answer to a write: items received, newly inserted and already present, and the
    headlines still waiting for event extraction."""

    received: int
    inserted: int
    already_present: int
    pending: int = Field(
        default=0,
        description="Headlines of this batch waiting for event extraction (see GET /v1/ingest)",
    )


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
