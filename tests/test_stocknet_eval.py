"""The StockNet protocols (issue 31): which samples each keeps, what news each reads, and
`kdtcn evaluate --dataset stocknet` on a slice of the bundled data, run as a user runs it,
against counts read straight from the files."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json

import numpy as np
import pytest

from evaluation.stocknet_samples import Splits, build_samples
from models.calendar import session_close
from models.universe_data import StockData
from tests.conftest import DATA_DIR
from tests.samples import cli_env, run_kdtcn

DAYS = [dt.date(2015, 1, 2) + dt.timedelta(days=k) for k in range(40)]
DAYS = [d for d in DAYS if d.weekday() < 5 and d != dt.date(2015, 1, 19)]  # MLK day
SPLITS = Splits(
    start=dt.date(2015, 1, 12),
    train_end=dt.date(2015, 1, 26),
    dev_end=dt.date(2015, 1, 28),
    test_end=dt.date(2015, 2, 12),
)
D = dt.date(2015, 2, 3)  # a Tuesday; the previous trading day is Monday the 2nd


def _stock(news: list[tuple[dt.date, float, str]]) -> StockData:
    moves = {dt.date(2015, 2, 3): 0.002}  # a small move on D: dropped by the paper's band
    closes = [100.0]
    for day in DAYS[1:]:
        closes.append(closes[-1] * (1 + moves.get(day, 0.01 if day.day % 2 else -0.01)))
    return StockData(
        symbol="ACME",
        dates=DAYS,
        adj_close=np.array(closes),
        closes=np.array([session_close(d).timestamp() for d in DAYS]),
        news_dates=[n[0] for n in news],
        news_times=np.array([n[1] for n in news], dtype=np.float64),
        news_texts=[n[2] for n in news],
    )


def _texts(samples, day: dt.date) -> str | None:  # type: ignore[no-untyped-def]
    return next((t for d, t in zip(samples.date, samples.text, strict=True) if d == day), None)


def test_tradable_reads_news_before_the_previous_close_only() -> None:
    close = session_close(dt.date(2015, 2, 2)).timestamp()
    stock = _stock(
        [
            (dt.date(2015, 2, 2), close - 60, "before"),
            (dt.date(2015, 2, 2), close + 60, "after"),
            (dt.date(2015, 1, 27), close - 6 * 86400, "too old"),
        ]
    )
    samples = build_samples([stock], SPLITS, "tradable")
    assert _texts(samples, D) == "before"  # every day is kept, small moves too
    assert _texts(samples, dt.date(2015, 2, 4)) == "before after"  # 5 days before its cut
    assert samples.label[samples.date.index(D)] == 1  # closed above the previous close
    assert D not in build_samples([stock], SPLITS, "tradable_paper_labels").date


def test_the_papers_window_is_its_files_and_eligibility_needs_every_day() -> None:
    nan = float("nan")
    day = dt.date(2015, 2, 5)  # a Thursday: window trading days Feb 2-4, then the 5th
    files = [day - dt.timedelta(days=k) for k in (6, 5, 3, 2, 1, 0)]
    stock = _stock([(f, nan, f"filed {f.day}") for f in files])
    everything = build_samples([stock], SPLITS, "paper_all")
    # The 5 calendar days before D: the files of Jan 31 (a Saturday) to Feb 4, not D's own.
    assert _texts(everything, day) == "filed 31 filed 2 filed 3 filed 4"
    eligible = build_samples([stock], SPLITS, "paper_eligible")
    assert day in eligible.date
    # Without the file of Feb 3 the window day Feb 4 has no news filed before it.
    gap = _stock([(f, nan, "x") for f in files if f != dt.date(2015, 2, 3)])
    assert day not in build_samples([gap], SPLITS, "paper_eligible").date
    assert day in build_samples([gap], SPLITS, "paper_all").date


STOCKS = ("AAPL", "AMZN", "FB", "GOOG", "T")


@pytest.mark.slow
def test_evaluate_stocknet_on_a_slice_matches_the_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = cli_env(f"sqlite:///{tmp_path / 'kdtcn.sqlite3'}", tmp_path / "artifacts")

    def kdtcn(*args: str) -> str:
        return run_kdtcn(env, *args)

    kdtcn("db", "upgrade")
    # The paper's dates; training from May 2015 only, which keeps the run short.
    kdtcn(
        "import", "stocknet", "--symbols", ",".join(STOCKS), "--start", "2015-05-01", "--no-extract"
    )
    out = tmp_path / "report"
    kdtcn(
        "evaluate", "--dataset", "stocknet", "--quick", "--embedding-seed", "1", "--out", str(out)
    )
    result = json.loads((out / "results.json").read_text())
    # The KDTCN rows' embedding was trained with the seed asked for, and the report says so.
    assert result["header"]["embedding_seed"] == 1
    trained = [json.loads(m.read_text()) for m in (tmp_path / "artifacts").glob("**/meta.json")]
    assert [m["seed"] for m in trained if m.get("model") == "TransE"] == [1]
    assert "embedding of seed 1" in (out / "results.md").read_text()
    assert set(result["protocols"]) >= {"tradable", "paper_all", "paper_eligible"}

    # The paper's test samples, counted from prices.csv: test days whose move is outside
    # [-0.5%, +0.55%), and the share of them that went up.
    moves: list[float] = []
    with gzip.open(DATA_DIR / "stocknet" / "prices.csv.gz", "rt") as fh:
        previous: dict[str, float] = {}
        for row in csv.DictReader(fh):
            symbol, close = row["symbol"], float(row["adj_close"])
            if symbol in STOCKS and symbol in previous and row["date"] >= "2015-10-01":
                moves.append(close / previous[symbol] - 1)
            previous[symbol] = close
    kept = [m for m in moves if not -0.005 <= m < 0.0055]
    paper = result["protocols"]["paper_all"]
    assert paper["n"] == len(kept)
    assert paper["always_up"] == pytest.approx(np.mean([m >= 0.0055 for m in kept]))
    tradable = result["protocols"]["tradable"]
    assert tradable["n"] == len(moves)
    eligible = result["protocols"]["paper_eligible"]
    assert 0 < eligible["n"] < paper["n"]
    for block in (paper, tradable, eligible):
        for name, row in block["models"].items():
            low, high = row["mcc_interval"]
            assert low <= row["mcc"] <= high, (name, row)
            assert set(row) >= {"accuracy", "mcc", "accuracy_interval", "mcc_interval"}
    assert "published" in paper and "HedgeFundAnalyst" in (out / "results.md").read_text()
    # The network rows, one seed in a quick run, fitted per family and scored everywhere.
    networks = {"TCN, prices", "TCN + text (LSA, no graph)", "KDTCN", "KDTCN + related stocks"}
    assert result["header"]["network_seeds"] == [0]
    for block in (paper, tradable, eligible):
        assert networks <= set(block["models"])
        assert all(len(block["models"][n]["seed_mcc"]) == 1 for n in networks)
        assert "KDTCN - TCN + text (LSA, no graph)" in block["comparisons"]
    # The cross-section on the tradable protocol: one rank IC per test date.
    crossed = tradable["models"]["logistic regression, last 5 returns"]["cross_section"]
    assert crossed["days"] == tradable["n_test_dates"]
    assert -1.0 <= crossed["rank_ic"] <= 1.0
    assert "cross_section" not in paper["models"]["KDTCN"]


def test_network_rows_place_news_on_the_rows_a_sample_may_read() -> None:
    from models.universe_data import paper_rows as _paper_rows
    from models.universe_data import tradable_rows as _tradable_rows

    monday = dt.date(2015, 2, 2)
    close = session_close(monday).timestamp()
    saturday, friday = dt.date(2015, 1, 31), dt.date(2015, 1, 30)
    nan = float("nan")
    stock = _stock(
        [
            (monday, close - 60, "a minute before Monday's close"),
            (monday, close + 60, "a minute after it"),
            (saturday, nan, "a Saturday item without a time"),
        ]
    )
    row = {d: i for i, d in enumerate(stock.dates)}
    # Tradable: the sample of Tuesday D reads rows up to Monday's. The item a minute before
    # Monday's close is on Monday's row, the one a minute after on D's (not read by D); the
    # date-only Saturday item is on Monday's row, as the baselines read it (from D on).
    assert list(_tradable_rows(stock)) == [row[monday], row[D], row[monday]]
    # The paper's files: a Saturday file belongs to Friday's row, read by Monday's sample.
    assert list(_paper_rows(stock)) == [row[monday], row[monday], row[friday]]


def test_the_tutorials_networks_are_rows_with_their_own_encoders() -> None:
    # Each tutorial row runs the zoo's encoder in the pooled network, on price rows only, and
    # scores every sample of the protocol with each seed.
    from dataclasses import replace

    from evaluation.stocknet_neural import NEURAL_ROWS, TUTORIAL_ROWS, fit_family
    from models.universe_data import NeuralInputs
    from models.zoo import NEURAL_MODELS, TUTORIAL_NETS

    assert [NEURAL_ROWS[r] for r in TUTORIAL_ROWS] == [
        (None, False, NEURAL_MODELS[n].encoder) for n in TUTORIAL_NETS
    ]
    rng = np.random.default_rng(0)
    stocks = []
    for symbol in ("ACME", "BOLT"):
        base = _stock([])
        rows = rng.normal(size=(len(base.dates), 4)).astype(np.float32)
        stocks.append(replace(base, symbol=symbol, price_rows=rows))
    samples = build_samples(stocks, SPLITS, "tradable")
    assert samples.mask("train").sum() > 0 and samples.mask("test").sum() > 0
    fitted = fit_family(
        stocks,
        samples,
        "tradable",
        SPLITS.train_end,
        NeuralInputs(seeds=(0, 1)),
        rows=TUTORIAL_ROWS,
    )
    assert list(fitted) == list(TUTORIAL_ROWS)
    keys = set(zip(samples.symbol, samples.date, strict=True))
    for row, scores in fitted.items():
        assert set(scores) == keys, row
        p = np.stack(list(scores.values()))
        assert p.shape == (len(keys), 2) and np.all((p > 0) & (p < 1)), row
    # Six different networks, not one network six times.
    firsts = {round(float(next(iter(s.values()))[0]), 6) for s in fitted.values()}
    assert len(firsts) == len(TUTORIAL_ROWS)
