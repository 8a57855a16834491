"""The effect bar chart as a PNG (matplotlib, headless).

The figure is built as a plain `Figure` on the Agg canvas, never through pyplot: requests run
in thread-pool threads, and pyplot's global state is not thread-safe."""

from __future__ import annotations

import io
import textwrap
from typing import Any

__all__ = ["effects_png"]


def effects_png(explanation: dict[str, Any], *, top: int = 25) -> bytes:
    from matplotlib.figure import Figure

    events = sorted(explanation.get("events", []), key=lambda e: -abs(e["effect"]))[:top][::-1]
    fig = Figure(figsize=(10, 0.35 * max(4, len(events)) + 1.2), dpi=100)
    ax = fig.add_subplot()
    labels = [textwrap.shorten(f"#{e['rank']} {e['headline']}", 70) for e in events]
    values = [e["effect"] * 100 for e in events]
    ax.barh(range(len(events)), values, color=["#2e7d32" if v >= 0 else "#c62828" for v in values])
    ax.set_yticks(range(len(events)), labels, fontsize=8)
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_xlabel("effect on P(up), percentage points (occlusion)")
    p = explanation["prediction"]
    ax.set_title(
        f"{explanation['symbol']} {explanation['target']} {explanation['date']}: "
        f"P(up) = {p['p_up']:.3f}",
        fontsize=10,
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
