"""models.history: the bundled Yahoo ^DJI and ^GSPC daily histories."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.features import price_features
from models.history import COLUMNS, GSPC_OHLC_START, HISTORY_SYMBOLS, load_history
from tests.conftest import DATA_DIR

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
GOOD = "2020-01-02,10,11,9,10.5,10.5,100\n"


def test_symbols_and_columns() -> None:
    assert set(HISTORY_SYMBOLS) == {"DJIA", "GSPC"}
    for symbol in HISTORY_SYMBOLS:
        frame = load_history(symbol, DATA_DIR)
        assert (
            list(frame.columns)
            == COLUMNS
            == ["open", "high", "low", "close", "adj_close", "volume"]
        )
        assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "date"
        assert frame.index.is_monotonic_increasing and frame.index.is_unique
        assert all(frame[c].dtype == np.float64 for c in COLUMNS)
        assert frame.attrs["dropped"] == {"missing": 0, "non_positive": 0, "bar_order": 0}
        assert not price_features(frame).iloc[1:].isna().any().any()
    dji = load_history("DJIA", DATA_DIR)
    assert (len(dji), str(dji.index[0].date()), str(dji.index[-1].date())) == (
        9041,
        "1985-01-29",
        "2020-12-09",
    )


def test_bundled_files_are_the_documented_ones() -> None:
    """The sha256 of the uncompressed files, as data/NOTICE.md states them."""
    expected = {
        "DJI_daily_1985_2020.csv": "32782a87bab00329",
        "GSPC_daily_1927_2020.csv": "827481105ef95f72",
    }
    for name, digest in expected.items():
        data = gzip.decompress((DATA_DIR / "prices" / f"{name}.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest()[:16] == digest
        assert name in (DATA_DIR / "NOTICE.md").read_text()


def test_dji_close_equals_the_djia_table_on_every_shared_date() -> None:
    """Equal to the printed sixth decimal: on 89 of the 1,989 days the two Yahoo downloads
    round the same float32 value differently (11734.320313 vs 11734.320312)."""
    table = pd.read_csv(DATA_DIR / "djia_reddit" / "DJIA_table.csv.gz", dtype={"Close": str})
    table = table.set_index(pd.to_datetime(table["Date"])).sort_index()
    dji = load_history("DJIA", DATA_DIR)
    shared = table.index.intersection(dji.index)
    assert len(shared) == len(table) == 1989
    theirs = table.loc[shared, "Close"].map(float).to_numpy()
    ours = dji.loc[shared, "close"].to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1.5e-6)
    assert int(np.sum(ours != theirs)) == 89


def test_gspc_defaults_to_full_bars_and_an_earlier_start_gives_close_only_bars() -> None:
    gspc = load_history("GSPC", DATA_DIR)
    assert gspc.index[0].date() == GSPC_OHLC_START and len(gspc) == 23347 - 8509
    early = load_history("GSPC", DATA_DIR, start=dt.date(1900, 1, 1), end=dt.date(1961, 12, 29))
    assert (len(early), str(early.index[0].date())) == (8509, "1927-12-30")
    assert (early["open"] == early["close"]).all() and (early["high"] == early["low"]).all()
    assert (early.loc[:"1949-12-30", "volume"] == 0).all()


def test_start_and_end_are_inclusive() -> None:
    frame = load_history("GSPC", DATA_DIR, start=dt.date(2008, 8, 8), end=dt.date(2016, 7, 1))
    assert (
        str(frame.index[0].date()) == "2008-08-08" and str(frame.index[-1].date()) == "2016-07-01"
    )
    assert len(frame) == 1989
    # A weekend start moves to the next trading day; a single day is one row.
    assert str(load_history("DJIA", DATA_DIR, start=dt.date(2016, 6, 25)).index[0].date()) == (
        "2016-06-27"
    )
    day = load_history("DJIA", DATA_DIR, start=dt.date(2016, 6, 24), end=dt.date(2016, 6, 24))
    assert len(day) == 1 and day["close"].iloc[0] == pytest.approx(17400.75, abs=0.01)
    with pytest.raises(ValueError, match="after end"):
        load_history("DJIA", DATA_DIR, start=dt.date(2016, 1, 2), end=dt.date(2016, 1, 1))


def test_unknown_symbol_and_missing_file() -> None:
    with pytest.raises(KeyError, match="NOPE"):
        load_history("NOPE", DATA_DIR)
    with pytest.raises(FileNotFoundError, match="GSPC_daily"):
        load_history("GSPC", Path("/nonexistent"))


def _write(folder: Path, body: str, *, gz: bool = True) -> Path:
    (folder / "prices").mkdir(exist_ok=True)
    name = folder / "prices" / HISTORY_SYMBOLS["DJIA"]
    for old in (name, name.with_suffix(".csv.gz")):
        old.unlink(missing_ok=True)
    if gz:
        Path(f"{name}.gz").write_bytes(gzip.compress(body.encode()))
    else:
        name.write_text(body)
    return folder


def test_bad_rows_are_dropped_and_counted(tmp_path: Path) -> None:
    body = HEADER + "".join(
        [
            GOOD,
            "2020-01-03,null,null,null,null,null,null\n",  # Yahoo's empty day
            "2020-01-06,10,11,9,,10.5,100\n",  # a missing close
            "2020-01-07,10,11,0,10.5,10.5,100\n",  # a zero low
            "2020-01-08,10,11,9,12,12,100\n",  # close above high
            "2020-01-09,8,11,9,10,10,100\n",  # open below low
            "2020-01-10,10,11,9,10.5,10.5,0\n",  # volume 0 is a valid bar
        ]
    )
    frame = load_history("DJIA", _write(tmp_path, body, gz=False))
    assert [str(d.date()) for d in frame.index] == ["2020-01-02", "2020-01-10"]
    assert frame.attrs["dropped"] == {"missing": 2, "non_positive": 1, "bar_order": 2}
    # counted within the asked range only
    ranged = load_history("DJIA", tmp_path, start=dt.date(2020, 1, 7), end=dt.date(2020, 1, 8))
    assert ranged.empty and ranged.attrs["dropped"] == {
        "missing": 0,
        "non_positive": 1,
        "bar_order": 1,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Date,Open,High,Low,Close,Volume\n" + "2020-01-02,10,11,9,10.5,100\n", "Adj Close"),
        (HEADER + "2020-02-30,10,11,9,10.5,10.5,100\n", "field Date, row 2: not a date"),
        (HEADER + GOOD + GOOD, "field Date, row 3: 2020-01-02 repeats"),
        (HEADER + GOOD + "2020-01-01,10,11,9,10.5,10.5,100\n", "row 3: 2020-01-01 comes after"),
        (HEADER + "2020-01-02,10,11,9,ten,10.5,100\n", "field Close, row 2: not a number"),
        (HEADER + "2020-01-02,10,11,9,10.5,10.5,-5\n", "field Volume, row 2: negative"),
    ],
)
def test_broken_files_raise_naming_the_field(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_history("DJIA", _write(tmp_path, body))
