"""Markdown tables from a `run_evaluation` result: a summary first, then per target and
scheme every model's figures and KDTCN's paired comparisons."""

from __future__ import annotations

from typing import Any

from evaluation.regression_report import render_regression

__all__ = ["to_markdown"]

SCHEMES = {
    "fixed_origin": "Fixed origin",
    "rolling_origin": "Rolling-origin recalibration",
    "rolling_window": "Rolling window",
}
ENSEMBLE_COLUMNS = [
    ("mcc", "MCC"),
    ("auc", "AUC"),
    ("brier", "Brier"),
    ("balanced_accuracy", "Bal. acc."),
    ("accuracy", "Acc."),
    ("f1", "F1"),
    ("share_up", "Pred. pos."),
]
SEED_COLUMNS = [("mcc", "MCC per seed"), ("auc", "AUC per seed")]


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _seed_cell(stat: dict[str, Any]) -> str:
    if stat["n"] < 2 or stat["std"] is None:
        return _num(stat["mean"])
    return f"{_num(stat['mean'])} ± {_num(stat['std'])}"


def _table(models: dict[str, Any], subset: str) -> list[str]:
    heads = [c for _, c in ENSEMBLE_COLUMNS] + [c for _, c in SEED_COLUMNS] + ["seeds"]
    lines = ["| model | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for name, row in models.items():
        ens = row["ensemble"][subset]
        seeds = row["per_seed"][subset]
        cells = [_num(ens[k]) for k, _ in ENSEMBLE_COLUMNS]
        cells += [_seed_cell(seeds[k]) for k, _ in SEED_COLUMNS]
        cells.append(str(row["n_seeds"]))
        label = f"{name} (= {row['same_as']})" if row.get("same_as") else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _best(models: dict[str, Any], metric: str, *, baselines_only: bool) -> tuple[str, float]:
    pool = {
        n: r["ensemble"]["all"][metric]
        for n, r in models.items()
        if r["ensemble"]["all"][metric] is not None
        and not (baselines_only and r["kind"] != "baseline")
    }
    if not pool:
        return "-", float("nan")
    name = max(pool, key=pool.__getitem__)
    return name, pool[name]


def _summary(result: dict[str, Any]) -> list[str]:
    lines = [
        "| target | scheme | KDTCN MCC | KDTCN AUC | best baseline by MCC | best baseline by "
        "AUC | best model by AUC | KDTCN - TCN, AUC [95%], p (Holm) |",
        "|---|---|---:|---:|---|---|---|---|",
    ]
    for target, schemes in result["results"].items():
        for scheme, block in schemes.items():
            models = block["models"]
            if "KDTCN" not in models:
                continue
            k = models["KDTCN"]["ensemble"]["all"]
            bm, bm_v = _best(models, "mcc", baselines_only=True)
            ba, ba_v = _best(models, "auc", baselines_only=True)
            oa, oa_v = _best(models, "auc", baselines_only=False)
            ci = block["bootstrap"].get("KDTCN - TCN", {}).get("auc")
            vs_tcn = (
                "-"
                if ci is None
                else f"{_num(ci['diff'], True)} [{_num(ci['low'], True)}, "
                f"{_num(ci['high'], True)}], p {_num(ci.get('p_holm'))}"
            )
            lines.append(
                f"| `{target}` | {SCHEMES.get(scheme, scheme)} | {_num(k['mcc'])} | "
                f"{_num(k['auc'])} | {bm} {_num(bm_v)} | {ba} {_num(ba_v)} | {oa} {_num(oa_v)} | "
                f"{vs_tcn} |"
            )
    return lines


METRIC_NAMES = {"auc": "AUC", "theil_u": "Theil U"}


def _tuning(result: dict[str, Any]) -> list[str]:
    tuning = {t: v for t, v in result.get("tuning", {}).items() if v}
    if not tuning:
        return [
            "No hyper-parameter search in this run: every network has the hand-set defaults.",
            "",
        ]
    first = next(iter(next(iter(tuning.values())).values()))
    lines = [
        f"Optuna (seeded TPE; the first trial is the hand-set default) searched width, TCN "
        f"levels, dropout, event projection size, learning rate and weight decay, "
        f"{first['n_trials']} trials per target and model, on {len(first['folds'])} folds "
        f"inside the training period (the last {first['folds'][0]['validation_days']} "
        "training days each, fitted on the days before): mean validation AUC for the "
        "classifiers, mean validation Theil U (against the random walk; lower is better) for "
        "`next_close`. TCN uses its own choice; KDTCN's is used by every event or text "
        "ablation; the tutorial networks keep the defaults.",
        "",
        "| target | model | metric | default | best | width | levels | dropout | event proj. "
        "| lr | weight decay | seconds |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target, models in tuning.items():
        for name, t in models.items():
            net = t["net"]
            metric = t.get("metric", "auc")
            lines.append(
                f"| `{target}` | {name} | {METRIC_NAMES.get(metric, metric)} | "
                f"{_num(t[f'default_mean_{metric}'])} | {_num(t[f'best_mean_{metric}'])} | "
                f"{net['hidden']} | {net['levels']} | {net['dropout']:.2f} | "
                f"{net['event_proj']} | {t['lr']:.1e} | {t['weight_decay']:.1e} | "
                f"{t['seconds']:.0f} |"
            )
    return [*lines, ""]


def _selection(result: dict[str, Any]) -> list[str]:
    selection = result.get("selection") or {}
    if not selection:
        return ["KDTCN's variant was not chosen in this run: KDTCN pools by the 1/rank mean.", ""]
    names = list(next(iter(selection.values()))["validation_auc"])
    first = next(iter(selection.values()))
    lines = [
        "KDTCN's variant, chosen per target by the mean validation AUC of a "
        f"{len(first['seeds'])}-seed ensemble on the search's folds, with KDTCN's searched "
        "settings (the test days choose nothing):",
        "",
        f"| target | {' | '.join(names)} | chosen | seconds |",
        f"|---|{'---:|' * len(names)}---|---:|",
    ]
    for target, sel in selection.items():
        scores = " | ".join(_num(sel["validation_auc"].get(n)) for n in names)
        lines.append(f"| `{target}` | {scores} | {sel['chosen']} | {sel['seconds']:.0f} |")
    return [*lines, ""]


def _opening(result: dict[str, Any]) -> list[str]:
    """The title, how and when the run was made, and the summary table with its note."""
    p = result["protocol"]
    return [
        "# Evaluation results",
        "",
        f"Generated by `kdtcn evaluate --dataset djia-reddit` in {p['seconds'] / 60:.1f} min "
        f"({p['finished']}). Symbol {p.get('symbol', 'DJIA')}; inputs: {p.get('inputs', {})}.",
        "",
        "## Summary (seed ensembles, all test days)",
        "",
        *_summary(result),
        "",
        "Baselines are the non-neural models of each target. Intervals: paired moving-block "
        f"bootstrap over test days; p-values Holm-adjusted over all {p.get('holm_family', 0)} "
        "comparisons of KDTCN in this run (listed under each scheme).",
        "",
    ]


def _protocol_setup(p: dict[str, Any]) -> list[str]:
    """The protocol's first part: days, window and seeds, what a row reports, the decision
    cut, what is fitted on training days only, and what each target asks."""
    return [
        "## Protocol",
        "",
        f"- Train {p['n_train_days']} days up to {p['train_end']} (last "
        f"{p['train']['val_fraction']:.0%} of training samples = validation tail for early "
        f"stopping); test {p['test_start']} to {p['test_end']}, "
        f"{p['n_test_days']} days, {p['test_share_up']:.1%} of them up.",
        f"- Window {p['window']} trading days. Neural models: seeds {list(p['seeds'])} (fixed "
        f"origin) and {list(p['rolling_seeds'])} (rolling schemes, refit every "
        f"{p['refit_every']} test days; rolling window = last {p['window_years']} years). "
        "Deterministic baselines run once.",
        "- Each row gives the **seed ensemble** (the mean probability over seeds, called at "
        "the cut chosen on its training days) and, for MCC and AUC, the **per-seed** mean ± "
        "sample standard deviation (ddof=1). The bootstrap compares seed ensembles.",
        "- Decision cut of every model, fold and ensemble: the cut at which it calls the "
        "positive class on its training days as often as that class occurred there "
        "(`models.metrics.decision_cut`). AUC and Brier score read the probabilities; rules "
        "that only call (persistence, reversal) have probabilities 0 or 1. On the rolling "
        "schemes AUC and Brier score pool the test days of every fold: a constant forecast "
        "that differs between folds (Majority's and Base rate's training base rate) then "
        "scores an AUC away from 0.5, and every model's AUC includes how its level moves "
        "between folds. Bootstrap intervals are percentile intervals, so they need not be "
        "symmetric around the difference.",
        "- Normalisation, embeddings (TransE on WD40k + training-period event triples; event "
        "triples alone for EB-TCN), the LSA word input and big_move's threshold q are fitted "
        "on training days only.",
        "- `next_day`: the move of t+1 from prices and headlines dated up to t (tradable "
        "only with timestamped news: the demo's headlines carry dates only, and items dated t "
        "include posts after t's close). "
        "`same_day`: the move of t from prices up to t-1 and headlines up to t (the paper's "
        "setting). `big_move`: whether |log return| of t+1 exceeds q, the 80th percentile of "
        "|log return| over the fold's training days, from data up to t.",
    ]


def _protocol_models(p: dict[str, Any]) -> list[str]:
    """The protocol's second part: the networks (highway, text channels, KDTCN's variants,
    denoised and pre-trained rows, the tutorial networks) and the abrupt-day subsets."""
    subsets = p["subsets"]
    return [
        "- TCN, WB-TCN, EB-TCN and KDTCN carry LSTNet's linear path over the last 5 days' "
        "price features, each clipped to +-4 training standard deviations and read with its "
        "absolute value (`KDTCN w/o highway` is KDTCN without it); KDEB-TCN reads events "
        "only. Price features: log return, high-low range, close-open body and volume change "
        "(the open-to-previous-close gap is left out: the ^DJI open is mostly the previous "
        "close, a recording artefact whose spread changes in 2015-2016).",
        "- Text channels beside the events: `KDTCN+VADER` adds the day's rank-weighted VADER "
        "sentiment (VADER was picked over LSA words and MiniLM sentences in runs that no "
        "committed code repeats, so that choice carries no validation figure here), "
        "`ST-TCN`, `VADER-TCN` and `WB-TCN` read one text channel with prices and no events.",
        "- `KDTCN (attention)`: KDTCN reading each day's 32 most popular events and pooling "
        "them itself, by attention whose scores add a learned function of each event vector "
        "to its 1/rank prior (KDTCN's search settings; it starts as the 1/rank mean). "
        "`KDTCN (1/rank mean)` pools a day's events by the fixed 1/rank mean (the paper's "
        "pooling). **KDTCN** is, per target, the one of these variants (and `KDTCN+VADER`) "
        "chosen on validation folds inside the training period (see below); its row and the "
        "chosen variant's row are the same fits.",
        "- `TCN (wavelet-denoised)`: each window's prices denoised on their own (causal). "
        "`TCN (pre-trained)` and `KDTCN (pre-trained)`: first fitted on the price history "
        "before the news (events at their no-news value), then on the fold"
        + (
            f" ({p['pretrain_history']['from']} to {p['pretrain_history']['to']}, "
            f"{p['pretrain_history']['days']} days)."
            if p.get("pretrain_history")
            else "."
        ),
        "- Tutorial networks (RNN, LSTM, stacked LSTM, GRU, BiLSTM, 1-D CNN) run for "
        "`next_day` on the fixed origin; only TCN and KDTCN run on the rolling schemes (the "
        "time budget of the run).",
        f"- Abrupt changes (direction targets): C_t = D_t - D_(t-1) with D_t the daily "
        f"relative change; threshold = 90th percentile of |C| on training days "
        f"({subsets['ex_post']['threshold']:.4f}). **Ex post** "
        f"({subsets['ex_post']['n_days']} test days): |C| of the predicted day, chosen by "
        f"the outcome. **Ex ante** ({subsets['ex_ante']['n_days']} test days): |C| of the "
        "last observed day.",
        "",
    ]


def to_markdown(result: dict[str, Any]) -> str:
    """docs/results.md from a `run_evaluation` result: the summary, the protocol, the
    hyper-parameter search, every target's tables, next_close's section (when it ran) and
    where the rest of the figures are."""
    p = result["protocol"]
    out = [*_opening(result), *_protocol_setup(p), *_protocol_models(p)]
    out.extend(["## Hyper-parameter search", "", *_tuning(result), *_selection(result)])
    out.extend(target_sections(result))
    if result.get("regression"):
        out.append(render_regression(result["regression"], figure="regression.png"))
        out.append("")
    out.append(
        "Per-seed figures for every metric and subset, the decision cuts and the folds' "
        "thresholds are in `results.json`."
    )
    return "\n".join(out) + "\n"


def p_text(ci: dict[str, Any], key: str = "p_value") -> str:
    """A bootstrap p-value as printed: "< 1/B" (B the valid resamples) when no resample
    flipped the sign, since B resamples cannot resolve a p below 1/B."""
    value = ci.get(key)
    if value is None:
        return "-"
    n = ci.get("n_valid") or ci.get("n_resamples")
    if value == 0 and n:
        return f"< 1/{n}"
    return _num(value)


def comparison_line(
    name: str, metrics: dict[str, dict[str, Any]], family: int | None = None
) -> str:
    """One paired comparison: per metric the difference, its 95% interval, the block length
    it was resampled with, p and Holm's p (with p < 1/B, Holm's is below `family`/B)."""
    parts = []
    for m, v in metrics.items():
        holm = v.get("p_holm")
        n = v.get("n_valid") or v.get("n_resamples")
        if holm is None:
            holm_text = "-"
        elif holm == 0 and n:
            holm_text = f"< {family or 'm'}/{n}"
        else:
            holm_text = _num(holm)
        b = v["block_length"]
        parts.append(
            f"{m.upper()} {_num(v['diff'], True)} [{_num(v['low'], True)}, "
            f"{_num(v['high'], True)}] (block {b} day{'' if b == 1 else 's'}) p {p_text(v)} "
            f"(Holm {holm_text})"
        )
    return f"- {name}: " + "; ".join(parts)


def target_sections(result: dict[str, Any]) -> list[str]:
    """Per target and scheme: every model's table, the abrupt subsets (fixed origin,
    direction targets) and the paired comparisons."""
    subsets = result["protocol"]["subsets"]
    out: list[str] = []
    for target, schemes in result["results"].items():
        out.append(f"## Target `{target}`")
        out.append("")
        for scheme, block in schemes.items():
            title = SCHEMES.get(scheme, scheme)
            thresholds = [t for t in block.get("thresholds", []) if t is not None]
            extra = (
                f"; q = {', '.join(f'{t:.4f}' for t in thresholds)} per fold" if thresholds else ""
            )
            out.append(
                f"### {title}: all {block['n_days']} test days, "
                f"{block['share_positive']:.1%} positive{extra}"
            )
            out.append("")
            out.extend(_table(block["models"], "all"))
            out.append("")
            if scheme == "fixed_origin" and target != "big_move":
                for subset, label in (
                    ("ex_post", "ex post abrupt days (outcome-selected)"),
                    ("ex_ante", "ex ante abrupt days"),
                ):
                    out.append(f"#### {title}: {label}, {subsets[subset]['n_days']} days")
                    out.append("")
                    out.extend(_table(block["models"], subset))
                    out.append("")
            if block["bootstrap"]:
                first = next(iter(block["bootstrap"].values()))["mcc"]
                out.append(
                    f"Paired comparisons (moving-block bootstrap, {first['n_resamples']} "
                    "resamples, each with its own block length; 95% intervals; p two-sided, "
                    "then Holm-adjusted):"
                )
                out.append("")
                for name, metrics in block["bootstrap"].items():
                    family = result["protocol"].get("holm_family")
                    out.append(comparison_line(name, metrics, family))
                out.append("")
    return out
