"""Markdown of a confirmation run (evaluation.confirm): the protocol's hash, what was read,
a summary of every compared model against its target's baselines, then each symbol's full
tables in the development report's format."""

from __future__ import annotations

from typing import Any

from evaluation.regression_report import render_regression
from evaluation.report import SCHEMES, _best, _num, comparison_line, p_text, target_sections

__all__ = ["confirmation_markdown"]


def _summary(symbol: str, result: dict[str, Any]) -> list[str]:
    lines = []
    for target, schemes in result["results"].items():
        for scheme, block in schemes.items():
            models = block["models"]
            bm, bm_v = _best(models, "mcc", baselines_only=True)
            ba, ba_v = _best(models, "auc", baselines_only=True)
            for name in result["protocol"]["compared"]:
                if name not in models:
                    continue
                e = models[name]["ensemble"]["all"]
                lines.append(
                    f"| {symbol} | `{target}` | {SCHEMES.get(scheme, scheme)} | {name} | "
                    f"{_num(e['mcc'])} | {_num(e['auc'])} | {bm} {_num(bm_v)} | "
                    f"{ba} {_num(ba_v)} | {block['n_days']} |"
                )
    return lines


def _regression_summary(symbol: str, result: dict[str, Any]) -> list[str]:
    lines = []
    for scheme, block in result["schemes"].items():
        for name in ("TCN", "ARIMA(1,0,1)"):
            row = block["models"].get(name)
            if row is None:
                continue
            m, ci = row["metrics"], row["u_interval"]
            interval = (
                "-"
                if ci.get("low") is None
                else f"[{1 + ci['low']:.4f}, {1 + ci['high']:.4f}] (blocks of "
                f"{ci.get('block_length', '-')} days)"
            )
            lines.append(
                f"| {symbol} | {SCHEMES.get(scheme, scheme)} | {name} | {m['theil_u']:.4f} | "
                f"{interval} | {_num(row['dm']['stat'])} | {p_text(row['dm'])} | "
                f"{block['n_days']} |"
            )
    return lines


def confirmation_markdown(run: dict[str, Any]) -> str:
    """confirmation.md of a confirmation run (evaluation.confirm): the protocol's hash and what
    was read, the classifiers' summary and paired comparisons of every symbol, next_close's
    summary, then each symbol's full tables."""
    out = _opening(run)
    for symbol, parts in run["symbols"].items():
        out.extend(_summary(symbol, parts["classifiers"]))
    out += _comparisons(run)
    out += _regression_table(run)
    for symbol, parts in run["symbols"].items():
        out += _symbol_section(symbol, parts)
    return "\n".join(out) + "\n"


def _opening(run: dict[str, Any]) -> list[str]:
    """The title, the protocol's hash and the run's provenance, the days and models read,
    and the head of the summary table (its rows are `_summary`'s)."""
    plan = run["plan"]
    first = next(iter(run["symbols"].values()))["classifiers"]["protocol"]
    return [
        f"# Confirmation of the frozen protocol `{run['protocol_name']}`",
        "",
        f"Protocol sha256 `{run['protocol_sha256']}` (`evaluation/protocol.json`). Run by "
        f"`kdtcn evaluate --confirm` from code {run.get('code') or 'unknown'}, "
        f"{run['started']} to {run['finished']} ({run['seconds'] / 60:.1f} min).",
        "",
        "Days no development choice read: training on "
        f"{plan['prices_from']} to {plan['train_end']}, test {plan['test_start']} to "
        f"{plan['test_end']}, symbols {', '.join(plan['symbols'])}"
        + (
            " (the protocol's frozen plan)."
            if run["plan_is_frozen"]
            else " (**not** the protocol's frozen plan: overridden on the command line)."
        )
        + " Every model that reads prices only, with the harness's schemes, seeds, "
        "statistics and the hyper-parameters the development search chose (no new search, "
        f"no choice of any kind). Seeds {list(first['seeds'])} (fixed origin), "
        f"{list(first['rolling_seeds'])} (rolling schemes, refit every "
        f"{first['refit_every']} test days; rolling window = last {first['window_years']} "
        "years). Events and text do not exist after the demo's news ends (2016-07-01), so "
        "KDTCN and its ablations are not part of this confirmation.",
        "",
        "A model that reads prices only sees the same windows and labels for `next_day` and "
        "`same_day` (both are the move of the day after the window's last bar), so its rows "
        "and comparisons are the same fits under both names.",
        "",
        "Written once for this hash and not to be re-run into this file: a protocol that "
        "changes gets a new hash and a new confirmation period.",
        "",
        "## Summary (seed ensembles, all test days)",
        "",
        "| symbol | target | scheme | model | MCC | AUC | best baseline by MCC | "
        "best baseline by AUC | days |",
        "|---|---|---|---|---:|---:|---|---|---:|",
    ]


def _comparisons(run: dict[str, Any]) -> list[str]:
    """Every symbol's paired comparisons of the classifiers, one line each."""
    out = [
        "",
        "Paired comparisons of the seed ensembles (moving-block bootstrap over test days, each "
        "comparison with its own block length; 95% intervals; p two-sided, Holm-adjusted over "
        "the symbol's comparisons):",
        "",
    ]
    for symbol, parts in run["symbols"].items():
        for target, schemes in parts["classifiers"]["results"].items():
            for scheme, block in schemes.items():
                family = parts["classifiers"]["protocol"].get("holm_family")
                for name, metrics in block["bootstrap"].items():
                    line = comparison_line(name, metrics, family)[2:]
                    out.append(f"- {symbol} `{target}` {SCHEMES.get(scheme, scheme)}: {line}")
    return out


def _regression_table(run: dict[str, Any]) -> list[str]:
    """next_close's summary: TCN and ARIMA against the random walk, per symbol and scheme."""
    out = [
        "",
        "`next_close` (Theil's U against the random walk; U < 1 beats it; DM: Diebold-Mariano "
        "against the random walk, negative = lower loss):",
        "",
        "| symbol | scheme | model | U | 95% interval | DM stat | DM p | days |",
        "|---|---|---|---:|---|---:|---:|---:|",
    ]
    for symbol, parts in run["symbols"].items():
        out.extend(_regression_summary(symbol, parts["regression"]))
    return out


def _symbol_section(symbol: str, parts: dict[str, Any]) -> list[str]:
    """A symbol's section: its bars and days, every target's tables and next_close's."""
    c = parts["classifiers"]["protocol"]
    src = c.get("source", {})
    out = [
        "",
        f"# {symbol}",
        "",
        f"Bars: `{src.get('file')}` (sha256 `{src.get('sha256', '')[:16]}`), "
        f"{src.get('first')} to {src.get('last')}, {src.get('days')} days; train "
        f"{c['n_train_days']} days, test {c['n_test_days']} days, "
        f"{c['test_share_up']:.1%} of them up. Pre-training history "
        f"{c.get('pretrain_history', {}).get('from')} to "
        f"{c.get('pretrain_history', {}).get('to')}.",
        "",
    ]
    out.extend(target_sections(parts["classifiers"]))
    out.append(render_regression(parts["regression"], figure=None))
    return out
