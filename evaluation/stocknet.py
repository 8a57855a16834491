"""The ACL18 StockNet benchmark's protocols and baselines, on plain arrays (any universe).

Three protocols build their samples from the same stocks, prices and news:

- `paper_all`: the paper's (Xu & Cohen 2018, github yumoxu/stocknet-code `src/DataPipe.py`).
  Target day D of a stock is every trading day in a split; its move is D's adjusted close
  against the stock's previous trading day's; moves in [-0.5%, +0.55%) are dropped; the news
  is the stock's items filed on the 5 calendar days before D (upstream files cut at about
  18:00 New York time, so two hours after D-1's close are in, and weekend files too).
- `paper_eligible`: `paper_all` where every trading day of the lag window (the trading days
  of the 4 calendar days before D, and D) has at least one item filed before it and after
  the window day before it (`is_eligible`): the samples of the paper's published table.
- `tradable`: every trading day D of every stock (a trader cannot drop small moves in
  advance), up when D closes at or above the previous close, from the news published in the
  5 days before the previous trading day's close (16:00 New York, from the exchange
  calendar): a prediction made at that close. `tradable_paper_labels` is the same news with
  the paper's label rule and drop band.

Splits (the paper's by default): train [start, train_end), development [train_end, dev_end),
test [dev_end, test_end). Every model is fitted on train only with fixed settings (nothing is
chosen on development or test days); a decision cut is chosen on training samples
(models.metrics.decision_cut). Intervals: a bootstrap that resamples test dates, every stock
of a drawn date together (arch's IIDBootstrap over the dates).

Here: the scoring of every row and `run_protocols`; the samples are built by
evaluation.stocknet_samples, the baselines are evaluation.stocknet_baselines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evaluation.stocknet_baselines import Encoder, Scorer, baselines, fitted_calls
from evaluation.stocknet_samples import Samples, Splits, build_samples
from evaluation.stocknet_stats import cross_section, intervals
from models.metrics import fast_mcc
from models.universe_data import StockData

__all__ = ["PUBLISHED", "PROTOCOLS", "run_protocols"]

# The paper's published rows (Table 1 of Xu & Cohen 2018 on `paper_eligible`; Adv-ALSTM,
# Feng et al. IJCAI 2019, on `paper_all`), all on the full 88 stocks: published, not
# reproduced here.
PUBLISHED: dict[str, dict[str, Any]] = {
    "paper_eligible": {
        "test_set": "1,008 test samples of the 88 stocks (always-up 57.44%)",
        "rows": {
            "HedgeFundAnalyst (StockNet, text + prices)": (0.5823, 0.0808),
            "FundamentalAnalyst (StockNet, text)": (0.5823, 0.0717),
            "HAN (Hu et al. 2018)": (0.5764, 0.0518),
            "TechnicalAnalyst (StockNet, prices)": (0.5496, 0.0165),
            "ARIMA": (0.5139, -0.0206),
        },
    },
    "paper_all": {
        "test_set": "3,720 test samples of the 88 stocks (always-up 51.29%)",
        "rows": {"Adv-ALSTM (Feng et al. 2019, prices)": (0.5720, 0.148)},
    },
}


def _seed_figures(
    probs: np.ndarray, train: np.ndarray, test: np.ndarray, y: np.ndarray
) -> list[float]:
    """Each seed's own test MCC (its own cut on training samples)."""
    return [
        fast_mcc(y[test], fitted_calls(probs[:, k], train, y)[test]) for k in range(probs.shape[1])
    ]


def _score(
    samples: Samples,
    seed: int,
    scorers: dict[str, Scorer],
    neural: dict[str, dict[tuple[str, dt.date], np.ndarray]] | None = None,
    cross: bool = False,
) -> dict[str, Any]:
    """Every baseline of `scorers` fitted on train, and the network rows' P(up) (`neural`:
    row -> (symbol, date) -> per-seed P(up), cut on this protocol's training samples), scored
    on development and test; with `cross`, each ranking score's cross-section on test days."""
    y = np.array(samples.label, dtype=np.int64)
    train, dev, test = (samples.mask(s) for s in ("train", "dev", "test"))
    scored = {name: fn(samples, train, y) for name, fn in scorers.items()}
    seeds: dict[str, list[float]] = {}
    keys = list(zip(samples.symbol, samples.date, strict=True))
    for name, by_key in (neural or {}).items():
        probs = np.stack([by_key[k] for k in keys])
        p = probs.mean(axis=1)
        scored[name] = (fitted_calls(p, train, y), p)
        seeds[name] = _seed_figures(probs, train, test, y)
    calls = {name: c for name, (c, _) in scored.items()}
    test_dates = [d for d, t in zip(samples.date, test, strict=True) if t]
    spread, compared = intervals(test_dates, y[test], {m: c[test] for m, c in calls.items()}, seed)
    moves = np.array(samples.move)
    test_symbols = [s for s, t in zip(samples.symbol, test, strict=True) if t]
    models = {}
    for name, (c, score) in scored.items():
        row: dict[str, Any] = {
            "accuracy": float(np.mean(c[test] == y[test])),
            "mcc": fast_mcc(y[test], c[test]),
            "accuracy_interval": spread[name]["accuracy"],
            "mcc_interval": spread[name]["mcc"],
            "dev_accuracy": float(np.mean(c[dev] == y[dev])) if dev.any() else None,
            "dev_mcc": fast_mcc(y[dev], c[dev]) if dev.any() else None,
            "share_up": float(np.mean(c[test])),
        }
        if name in seeds:
            row["seed_mcc"] = seeds[name]
        if cross and score is not None:
            row["cross_section"] = cross_section(
                test_dates, test_symbols, score[test], moves[test], seed
            )
        models[name] = row
    return {
        "n": int(test.sum()),
        "n_train": int(train.sum()),
        "n_dev": int(dev.sum()),
        "n_test_dates": len(set(test_dates)),
        "n_stocks": len(set(test_symbols)),
        "always_up": float(np.mean(y[test])),
        "test_with_news": float(np.mean(np.array(samples.n_news)[test] > 0)),
        "dated_only_items_read": samples.n_dated_only,
        "models": models,
        "comparisons": compared,
    }


PROTOCOLS = ("tradable", "tradable_paper_labels", "paper_all", "paper_eligible")
FITTED_ON = {"tradable": "tradable", "paper": "paper_all"}  # a network family's samples


def run_protocols(
    stocks: Sequence[StockData],
    splits: Splits,
    *,
    neural: Any | None = None,
    seed: int = 0,
    say: Callable[[str], None] = lambda _line: None,
    sentences: Encoder | None = None,
    network_rows: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Samples, baselines, network rows (with `neural`, an evaluation.stocknet_neural.
    NeuralInputs; `network_rows` of its NEURAL_ROWS, all by default) and intervals of every
    protocol, with the published rows; the MiniLM baseline with `sentences` (an encoder of
    texts)."""
    from evaluation.stocknet_neural import NEURAL_ROWS, family_of, fit_family

    scorers = baselines(sentences)
    out: dict[str, Any] = {}
    fitted: dict[str, dict[str, dict[tuple[str, dt.date], np.ndarray]]] = {}
    for protocol in PROTOCOLS:
        samples = build_samples(stocks, splits, protocol)
        if not any(s == "test" for s in samples.split) or not any(
            s == "train" for s in samples.split
        ):
            # A sparse universe can leave a protocol empty (the paper's eligibility needs news
            # on every day of a window): it is reported as such, the others still run.
            out[protocol] = {"n": 0, "skipped": "no training or no test samples"}
            say(f"{protocol}: no training or no test samples in these dates; skipped")
            continue
        family = family_of(protocol)
        if neural is not None and FITTED_ON[family] == protocol:
            fitted[family] = fit_family(
                stocks,
                samples,
                family,
                splits.train_end,
                neural,
                rows=tuple(NEURAL_ROWS) if network_rows is None else network_rows,
                say=say,
            )
        out[protocol] = _score(
            samples, seed, scorers, fitted.get(family), cross=protocol == "tradable"
        )
        if protocol in PUBLISHED:
            out[protocol]["published"] = PUBLISHED[protocol]
        say(f"{protocol}: {out[protocol]['n']} test samples")
    if all(block.get("skipped") for block in out.values()):
        raise ValueError("no protocol has training and test samples in these dates")
    return out
