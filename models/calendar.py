"""Trading days and closing times from a maintained exchange calendar (exchange-calendars),
for dates beyond the bars a symbol has stored: NYSE (XNYS) for every symbol served today.

The closing time is what decides which news a prediction may read: an item published before
the close of the last session before day D can inform a trade at that close; one published
after it cannot (the tradable setting)."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_EXCHANGE",
    "NEW_YORK",
    "bar_close",
    "is_trading_day",
    "new_york_date",
    "previous_close",
    "session_close",
]

DEFAULT_EXCHANGE = "XNYS"
NEW_YORK = ZoneInfo("America/New_York")
REGULAR_CLOSE = dt.time(16, 0)  # New York time, where the calendar does not say otherwise


@cache
def _calendar(exchange: str):  # type: ignore[no-untyped-def]
    import exchange_calendars as xc

    with _quiet():
        return xc.get_calendar(exchange, start="1985-01-01")


@contextmanager
def _quiet() -> Iterator[None]:
    """exchange-calendars 4.13 reads `Series.values` of time-zone-aware series, which pandas 3.1
    deprecates (a FutureWarning subclass per call); the values it reads are unchanged."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        yield


def is_trading_day(day: dt.date, exchange: str = DEFAULT_EXCHANGE) -> bool:
    """Whether `exchange` holds a session on `day` (weekends and holidays are not). Days
    outside the calendar's range (before 1985, or past its last session) count as sessions
    when they fall on a weekday: nothing is known against them."""
    calendar = _calendar(exchange)
    stamp = day.isoformat()
    if not (calendar.first_session.date() <= day <= calendar.last_session.date()):
        return day.weekday() < 5
    return bool(calendar.is_session(stamp))


def new_york_date(instant: dt.datetime) -> dt.date:
    """The calendar date in New York of a time-zone-aware instant."""
    return instant.astimezone(NEW_YORK).date()


def _in_range(calendar, day: dt.date) -> bool:  # type: ignore[no-untyped-def]
    return bool(calendar.first_session.date() <= day <= calendar.last_session.date())


def session_close(day: dt.date, exchange: str = DEFAULT_EXCHANGE) -> dt.datetime:
    """When the session of `day` closes, in UTC: the calendar's close (early closes such as
    the day after Thanksgiving at 13:00 included); 16:00 New York time for days outside the
    calendar's range. `day` must be a session (ValueError otherwise)."""
    calendar = _calendar(exchange)
    if not _in_range(calendar, day):
        if day.weekday() >= 5:
            raise ValueError(f"{day} is not a trading day of {exchange}")
        return dt.datetime.combine(day, REGULAR_CLOSE, NEW_YORK).astimezone(dt.UTC)
    if not calendar.is_session(day.isoformat()):
        raise ValueError(f"{day} is not a trading day of {exchange}")
    with _quiet():
        close = calendar.session_close(day.isoformat())
    return close.to_pydatetime().astimezone(dt.UTC)


def previous_close(day: dt.date, exchange: str = DEFAULT_EXCHANGE) -> dt.datetime:
    """The close of the last session strictly before `day` (any day, session or not), in UTC:
    the instant before which news may inform a trade at that close on day `day`'s move."""
    before = day - dt.timedelta(days=1)
    while not is_trading_day(before, exchange):
        before -= dt.timedelta(days=1)
    return session_close(before, exchange)


@cache
def bar_close(day: dt.date, exchange: str = DEFAULT_EXCHANGE) -> dt.datetime:
    """When the trading day of a stored bar closed, in UTC: `session_close`, or 16:00 New
    York time for a day the calendar holds no session on (a bar says there was trading)."""
    try:
        return session_close(day, exchange)
    except ValueError:
        return dt.datetime.combine(day, REGULAR_CLOSE, NEW_YORK).astimezone(dt.UTC)
