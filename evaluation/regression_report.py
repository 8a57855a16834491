"""The next_close report: the Markdown section of docs/results.md (and of each symbol of a
confirmation) for an `evaluation.regression.run_regression` result, and the docs figure of
the real close against the best models and the random walk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RANDOM_WALK = "Random walk"  # the name of the random walk's row

__all__ = ["render_regression", "plot_regression", "best_model"]

SCHEME_TITLES = {
    "fixed_origin": "Fixed origin",
    "rolling_origin": "Rolling-origin recalibration",
    "rolling_window": "Rolling window",
}


def _f(value: float | None, fmt: str = ".3f") -> str:
    """A number in `fmt`, or "n/a"."""
    return "n/a" if value is None else format(value, fmt)


def _u(u: float | None, ci: dict[str, Any]) -> str:
    """Theil's U with its 95% interval (the interval of U - 1 shifted by 1), if it has one."""
    if u is None:
        return "n/a"
    if ci.get("low") is None or ci.get("high") is None:
        return f"{u:.4f}"
    return f"{u:.4f} [{1 + ci['low']:.3f}, {1 + ci['high']:.3f}]"


def _spread(s: dict[str, Any]) -> str:
    """A per-seed summary as mean ± sample std."""
    if s["mean"] is None:
        return "n/a"
    return _f(s["mean"], ".4f") + ("" if s["std"] is None else f" ± {s['std']:.4f}")


def best_model(
    result: dict[str, Any], scheme: str = "fixed_origin", *, variant: str | None = None
) -> str | None:
    """The model with the lowest RMSE of a scheme, the random walk excluded (of one
    `variant` only, if given); None if there is none."""
    rows = result["schemes"][scheme]["models"]
    names = [n for n in rows if n != RANDOM_WALK and variant in (None, rows[n]["variant"])]
    return min(names, key=lambda n: rows[n]["metrics"]["rmse"]) if names else None


def render_regression(result: dict[str, Any], *, figure: str | None = "regression.png") -> str:
    """The Markdown section of docs/results.md for next_close."""
    out = _method(result["protocol"])
    for scheme, block in result["schemes"].items():
        out += _scheme_table(scheme, block)
        out += _scheme_verdict(block)
    if figure and "fixed_origin" in result["schemes"]:
        out += _figure_caption(result, figure)
    return "\n".join(out) + "\n"


def _method(pr: dict[str, Any]) -> list[str]:
    """The section's title and how it was run (from the result's protocol): the days, the
    networks' framing and seeds, the baselines, and what each column of the tables means."""
    return [
        "## Target `next_close`: next-day close against the random walk",
        "",
        f"Asked on D, {pr['description']}. Train {pr['n_train_days']} days up to "
        f"{pr['train_end']}, test {pr['test_start']} to {pr['test_end']}, "
        f"{pr['n_test_days']} days; run time {pr['seconds'] / 60:.1f} min "
        f"({pr['n_fits']} network fits).",
        "",
        "- Networks regress the next day's log return (standardised with the training days' "
        "mean and std; MSE; early stopping on the last "
        f"{pr['train']['val_fraction']:.0%} of training windows) from the {pr['window']}-day "
        "windows of next_day (price features, plus events or text for the TCN ablations); the "
        "price reported is close[t-1] x exp(predicted log return). Seeds "
        f"{list(pr['seeds'])} (fixed origin), {list(pr['rolling_seeds'])} (rolling origin, "
        f"refit every {pr['refit_every']} test days); the row is the seed ensemble (mean "
        "predicted log return), *U per seed* the mean ± sample std (ddof=1) over seeds.",
        "- *(min-max level)* rows are the seed tutorials' framing: the last "
        f"{pr['options']['level_window']} closes min-max scaled (scaler fitted on the rows "
        "before the test period only), the scaled next close regressed with MSE. "
        "*(wavelet-denoised)*: each window's price features denoised on their own (db2, at most 3 "
        "levels, soft universal threshold), so causal.",
        "- Random walk: tomorrow's close = today's. ARIMA(1,0,1) on log returns, fitted on the "
        "training days, parameters frozen, state filtered through the data up to t-1.",
        "- U = RMSE / RMSE of the random walk on the same days (U < 1 beats it); [95%]: paired "
        "moving-block bootstrap over test days of U - 1 (models.stats.block_bootstrap_diff, "
        f"{pr.get('n_resamples', 2000)} resamples, block length from the squared-error "
        "difference). Dir. acc.: "
        "the implied move called up iff predicted close >= previous close, as the label "
        "(up iff close >= previous close), so the random walk calls up every day. DM: "
        "Diebold-Mariano test of equal squared error vs the random walk (Newey-West HAC "
        "variance, Harvey-Leybourne-Newbold correction, t with n-1 df, two-sided; negative = "
        "lower loss than the random walk). r move: correlation of the implied move (predicted "
        "minus previous close) with the realised move (undefined for the random walk). Lag "
        "r0 / r1: correlation of the predicted line's day-to-day change with the realised "
        "change of the same day / of the previous day; the random walk, whose line is "
        "yesterday's close, has r1 = 1 and r0 ~ 0: a line that lags the price by a day.",
    ]


def _scheme_table(scheme: str, block: dict[str, Any]) -> list[str]:
    """A scheme's heading and its table: one row per model, in the result's order."""
    out = [
        "",
        f"### {SCHEME_TITLES.get(scheme, scheme)}: {block['n_days']} test days",
        "",
        "| model | regresses | RMSE | MAE | MAPE % | U [95%] | U per seed | Dir. acc. "
        "| r move | DM stat | DM p | lag r0 | lag r1 | seeds |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in block["models"].items():
        m = row["metrics"]
        out.append(
            f"| {name} | {row['variant']} | {m['rmse']:.1f} | {m['mae']:.1f} | "
            f"{m['mape']:.3f} | {_u(m['theil_u'], row['u_interval'])} | "
            f"{_spread(row['per_seed']['theil_u'])} | {m['direction_accuracy']:.3f} | "
            f"{_f(row['move_corr'])} | "
            f"{_f(row['dm']['stat'], '.2f')} | {_f(row['dm']['p_value'])} | "
            f"{_f(row['lag']['same_day'])} | {_f(row['lag']['previous_day'])} | "
            f"{row['n_seeds']} |"
        )
    return out


def _scheme_verdict(block: dict[str, Any]) -> list[str]:
    """The sentence under a scheme's table: the models with U < 1 (as printed), those of
    them with DM p < 0.05 or the whole interval of U below 1, and those significantly worse
    than the random walk."""
    # "below 1" as printed (4 decimals): U = 0.99998 prints 1.0000 and is not listed
    beat = [
        n
        for n, r in block["models"].items()
        if r["metrics"]["theil_u"] is not None and round(r["metrics"]["theil_u"], 4) < 1
    ]
    sig = [n for n in beat if (block["models"][n]["dm"]["p_value"] or 1) < 0.05]
    below = [n for n in beat if (block["models"][n]["u_interval"].get("high") or 0) < 0]
    worse = [
        n
        for n, r in block["models"].items()
        if (r["dm"]["stat"] or 0) > 0 and (r["dm"]["p_value"] or 1) < 0.05
    ]
    return [
        "",
        f"U < 1 at 4 decimals: {', '.join(beat) if beat else 'none'}; of them with DM "
        f"p < 0.05 (unadjusted): {', '.join(sig) if sig else 'none'}; with the whole 95% "
        f"interval of U below 1: {', '.join(below) if below else 'none'}. Worse than the "
        "random walk "
        f"with DM p < 0.05: {', '.join(worse) if worse else 'none'}.",
    ]


def _figure_caption(result: dict[str, Any], figure: str) -> list[str]:
    """The figure's link and caption, naming the fixed origin's best model by RMSE (and the
    best of the tutorials' min-max-level framing, if any)."""
    best, level = best_model(result), best_model(result, variant="min-max level")
    return [
        "",
        f"![next_close: real close, {best} and the random walk]({figure})",
        "",
        f"Real close, the fixed-origin model with the lowest RMSE ({best}), the random walk"
        + (f" and the best of the tutorials' framing ({level})" if level else "")
        + " over the test period; right: the last 60 test days.",
    ]


def plot_regression(
    result: dict[str, Any], path: str | Path, *, scheme: str = "fixed_origin", zoom: int = 60
) -> Path:
    """The docs figure: real close, the best model by RMSE, the best min-max-level model (if
    any) and the random walk over the test period (left) and over its last `zoom` days
    (right). PNG via matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dates = pd.to_datetime(result["dates"])
    close = np.asarray(result["close"])
    rw = np.asarray(result["close_prev"])
    rows = result["schemes"][scheme]["models"]
    lines = [(best_model(result, scheme), "tab:red", "-")]
    level = best_model(result, scheme, variant="min-max level")
    if level and level != lines[0][0]:
        lines.append((level, "tab:green", "-"))
    fig, axes = plt.subplots(
        1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [2, 1]}, constrained_layout=True
    )
    for ax, sl in ((axes[0], slice(None)), (axes[1], slice(-zoom, None))):
        ax.plot(dates[sl], close[sl], color="black", lw=1.4, label="real close")
        for name, colour, style in lines:
            u = rows[name]["metrics"]["theil_u"]
            ax.plot(
                dates[sl],
                np.asarray(rows[name]["pred_close"])[sl],
                color=colour,
                lw=1.0,
                ls=style,
                label=f"{name} (U {u:.4f})",
            )
        ax.plot(
            dates[sl],
            rw[sl],
            color="tab:blue",
            lw=1.0,
            ls="--",
            label="random walk (previous close)",
        )
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelrotation=30)
    axes[0].set_title(f"DJIA next-day close, test period ({len(dates)} days)")
    axes[1].set_title(f"last {zoom} test days")
    axes[0].set_ylabel("adjusted close")
    axes[0].legend(loc="lower left", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
