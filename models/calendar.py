"""Trading days from a maintained exchange calendar (exchange-calendars), for dates beyond
the bars a symbol has stored: NYSE (XNYS) for every symbol served today."""

from __future__ import annotations

import datetime as dt
from functools import cache

__all__ = ["DEFAULT_EXCHANGE", "is_trading_day"]

DEFAULT_EXCHANGE = "XNYS"


@cache
def _calendar(exchange: str):  # type: ignore[no-untyped-def]
    import exchange_calendars as xc

    return xc.get_calendar(exchange, start="1985-01-01")


def is_trading_day(day: dt.date, exchange: str = DEFAULT_EXCHANGE) -> bool:
    """Whether `exchange` holds a session on `day` (weekends and holidays are not). Days
    outside the calendar's range (before 1985, or past its last session) count as sessions
    when they fall on a weekday: nothing is known against them."""
    calendar = _calendar(exchange)
    stamp = day.isoformat()
    if not (calendar.first_session.date() <= day <= calendar.last_session.date()):
        return day.weekday() < 5
    return bool(calendar.is_session(stamp))
