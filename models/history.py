"""Long daily index histories bundled in `data/prices/` (Yahoo Finance ^DJI and ^GSPC).

`load_history(symbol, data_dir)` reads one of them into the frame `models.features.price_features`
takes: indexed by a DatetimeIndex named "date" (ascending, unique), float columns
`open, high, low, close, adj_close, volume`. Files are Yahoo's layout
(`Date, Open, High, Low, Close, Adj Close, Volume`), plain or gzip-compressed.

Validation. A row is dropped, and counted in `frame.attrs["dropped"]` (and logged), when it
has a missing value (empty or Yahoo's `null`), a price that is not positive, or a bar that
breaks low <= open, close <= high. Anything else that looks broken raises ValueError naming
the file, the field and the row: a missing column, a date that does not parse, dates that
repeat or go backwards, a value that is not a number, a negative volume.

GSPC before 1962. Yahoo's ^GSPC bars before 1962-01-02 carry the close only
(open = high = low = close on every day) and, before 1950, volume 0. Range, body, gap and
volume change of such a bar are not data but artefacts, so for GSPC `start` defaults to
`GSPC_OHLC_START` (1962-01-02); ask for an earlier `start` to get the close-only bars
(they pass validation: a flat bar is a valid bar). DJIA's file starts 1985-01-29 with
full bars and needs no default.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["HISTORY_SYMBOLS", "GSPC_OHLC_START", "COLUMNS", "history_path", "load_history"]

log = logging.getLogger(__name__)

# Symbol served by the API -> bundled file (under `<data_dir>/prices/`, .csv.gz or .csv).
HISTORY_SYMBOLS: dict[str, str] = {
    "DJIA": "DJI_daily_1985_2020.csv",
    "GSPC": "GSPC_daily_1927_2020.csv",
}
# The first ^GSPC day with a real open/high/low (the default `start` for GSPC).
GSPC_OHLC_START = dt.date(1962, 1, 2)
DEFAULT_START: dict[str, dt.date] = {"GSPC": GSPC_OHLC_START}

COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
_RAW = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}
_PRICES = ["open", "high", "low", "close", "adj_close"]


def history_path(symbol: str, data_dir: Path) -> Path:
    """The bundled file of `symbol`: `<data_dir>/prices/<file>(.gz)`; `data_dir` may also be
    the `prices/` folder itself."""
    if symbol not in HISTORY_SYMBOLS:
        raise KeyError(
            f"symbol {symbol!r} has no bundled history; known: {', '.join(HISTORY_SYMBOLS)}"
        )
    name = HISTORY_SYMBOLS[symbol]
    data_dir = Path(data_dir)
    for folder in (data_dir / "prices", data_dir):
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.exists():
                return candidate
    raise FileNotFoundError(f"{name}(.gz) not found in {data_dir / 'prices'}")


def _read(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ["Date", *_RAW] if c not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
    dates = pd.to_datetime(raw["Date"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna())[0])
        raise ValueError(f"{path.name}: field Date, row {i + 2}: not a date: {raw['Date'][i]!r}")
    if dates.duplicated().any():
        i = int(np.flatnonzero(dates.duplicated().to_numpy())[0])
        raise ValueError(f"{path.name}: field Date, row {i + 2}: {raw['Date'][i]} repeats")
    backwards = np.flatnonzero(np.diff(dates.to_numpy()) < np.timedelta64(0))
    if len(backwards):
        i = int(backwards[0]) + 1
        raise ValueError(
            f"{path.name}: field Date, row {i + 2}: {raw['Date'][i]} comes after "
            f"{raw['Date'][i - 1]}; dates must ascend"
        )
    frame = pd.DataFrame(index=pd.DatetimeIndex(dates, name="date"))
    for source, column in _RAW.items():
        text = raw[source].str.strip()
        blank = text.isin(["", "null", "NaN", "nan"])
        values = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = values.isna() & ~blank
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{path.name}: field {source}, row {i + 2}: not a number: {raw[source][i]!r}"
            )
        frame[column] = values.to_numpy(float)
    negative = frame["volume"] < 0
    if negative.any():
        i = int(np.flatnonzero(negative.to_numpy())[0])
        raise ValueError(f"{path.name}: field Volume, row {i + 2}: negative volume")
    return frame


def load_history(
    symbol: str,
    data_dir: Path,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Daily bars of `symbol` (a key of HISTORY_SYMBOLS) from `start` to `end` inclusive.

    `start` defaults to GSPC_OHLC_START for GSPC (see the module docstring) and to the first
    row otherwise. Dropped rows of the range are counted in `attrs["dropped"]`
    (`missing`, `non_positive`, `bar_order`: each row counted once, in that order)."""
    path = history_path(symbol, data_dir)
    if start is None:
        start = DEFAULT_START.get(symbol)
    if start is not None and end is not None and start > end:
        raise ValueError(f"start {start} is after end {end}")
    frame = _read(path)
    if start is not None:
        frame = frame[frame.index >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame.index <= pd.Timestamp(end)]
    missing = frame[COLUMNS].isna().any(axis=1)
    non_positive = ~missing & (frame[_PRICES] <= 0).any(axis=1)
    kept = ~missing & ~non_positive
    lo = frame[["open", "close"]].min(axis=1)
    hi = frame[["open", "close"]].max(axis=1)
    bar_order = kept & ((frame["low"] > lo) | (frame["high"] < hi))
    dropped = {
        "missing": int(missing.sum()),
        "non_positive": int(non_positive.sum()),
        "bar_order": int(bar_order.sum()),
    }
    out = frame.loc[kept & ~bar_order, COLUMNS].astype(float)
    out.attrs["dropped"] = dropped
    out.attrs["source"] = path.name
    if any(dropped.values()):
        log.warning(
            "%s (%s): dropped %d rows with a missing value, %d with a non-positive price, "
            "%d breaking low <= open, close <= high",
            symbol,
            path.name,
            *dropped.values(),
        )
    return out
