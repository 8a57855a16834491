"""Charts as PNG (matplotlib, headless): the effect bars of an explanation, the equity curves
of a backtest.

The figure is built as a plain `Figure` on the Agg canvas, never through pyplot: requests run
in thread-pool threads, and pyplot's global state is not thread-safe."""

from __future__ import annotations

import io
import textwrap
from typing import Any

__all__ = ["effects_png", "equity_png"]


def effects_png(explanation: dict[str, Any], *, top: int = 25) -> bytes:
    """The `top` headlines of an explanation by |Shapley value| as horizontal bars, largest
    at the top: in percentage points of the probability, or in price points for
    next_close. A universe network's explanation: its own news and each related stock's."""
    if "universe" in explanation:
        symbol = explanation["symbol"]
        groups = [(f"{symbol}'s own news", explanation["own"]["effect"])] + [
            (f"{r['symbol']} (attention {100 * r['attention']:.0f}%)", r["effect"])
            for r in explanation["related"]
        ]
        return _bars_png(
            [(label, 100 * effect) for label, effect in groups],
            top=top,
            xlabel="effect on P(up), percentage points (P(up) minus P(up) without the items)",
            title=f"{symbol} {explanation['target']} {explanation['date']} (universe "
            f"{explanation['universe']}): P(up) = {explanation['p']:.3f} ({explanation['call']})",
        )
    price = explanation.get("effect_unit") == "price"
    p = explanation["prediction"]
    if price:
        name, answer = "the predicted close", f"{p['price']['predicted_close']:.2f}"
        unit = "index points"
    else:
        name = "P(up)" if p.get("p_up") is not None else "P(big move)"
        answer, unit = f"{p['p']:.3f}", "percentage points"
    return _bars_png(
        [
            (textwrap.shorten(f"#{h['rank']} {h['text']}", 70), h["effect"] * (1 if price else 100))
            for h in explanation.get("headlines", [])
        ],
        top=top,
        xlabel=f"effect on {name}, {unit} (Shapley value per headline)",
        title=f"{explanation['symbol']} {explanation['target']} {explanation['date']}: "
        f"{name} = {answer} ({p['call']})",
    )


def _bars_png(rows: list[tuple[str, float]], *, top: int, xlabel: str, title: str) -> bytes:
    """The `top` (label, value) rows by |value| as horizontal bars, largest at the top."""
    from matplotlib.figure import Figure

    rows = sorted(rows, key=lambda r: -abs(r[1]))[:top][::-1]
    fig = Figure(figsize=(10, 0.35 * max(4, len(rows)) + 1.2), dpi=100)
    ax = fig.add_subplot()
    values = [value for _, value in rows]
    ax.barh(range(len(rows)), values, color=["#2e7d32" if v >= 0 else "#c62828" for v in values])
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def equity_png(backtest: dict[str, Any]) -> bytes:
    """Growth of 1 under each strategy of a backtest (net of costs), or the running hit
    rate of a target that is not traded."""
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

    days = backtest["days"]
    index = pd.to_datetime([d["date"] for d in days])
    fig = Figure(figsize=(10, 4.5), dpi=100)
    ax = fig.add_subplot()
    if backtest.get("strategy"):
        series = {
            "long/short": [d["long_short_return"] for d in days],
            "long/flat": [d["long_flat_return"] for d in days],
            "buy and hold": [d["return"] for d in days],
        }
        for label, values in series.items():
            ax.plot(index, np.cumprod(1.0 + np.asarray(values)), label=label, linewidth=1.2)
        ax.set_ylabel(f"growth of 1, net of {backtest['cost_bps']:g} bp per change")
        ax.axhline(1.0, color="#555", linewidth=0.6)
    else:
        hits = np.cumsum([(d["call"] in ("up", "big")) == d["label"] for d in days]) / np.arange(
            1, len(days) + 1
        )
        ax.plot(index, hits, label="running hit rate")
        ax.axhline(0.5, color="#555", linewidth=0.6)
        ax.set_ylabel("hit rate")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(
        f"{backtest['symbol']} {backtest['target']} {backtest['start']}..{backtest['end']}: "
        "point-in-time predictions",
        fontsize=10,
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
