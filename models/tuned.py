"""The hyper-parameters that served versions use: `kdtcn evaluate`'s search, written down.

`kdtcn evaluate` (with tuning on) writes `models/tuned.json`: per target and tuned model
(TCN, KDTCN), the configuration Optuna chose on folds inside the training period, and the
last training day those folds read (`tuned_until`). `kdtcn train` and the first start's
walk-forward chains read it through `served_params`: a version whose cut is on or after
`tuned_until` uses the chosen configuration; an earlier cut keeps the hand-set defaults,
since its configuration would otherwise have been chosen on days after its cut. Which one a
version used is recorded in its metrics (`hyper_parameters`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from models.networks import NetParams
from models.train import TrainConfig

__all__ = ["TUNED_PATH", "served_params", "served_variant", "write_tuned"]

TUNED_PATH = Path(__file__).with_name("tuned.json")


def write_tuned(
    tuning: dict[str, dict[str, dict[str, Any]]],
    *,
    tuned_until: str,
    source: str,
    selection: dict[str, dict[str, Any]] | None = None,
    path: Path = TUNED_PATH,
) -> Path:
    """Write the chosen configuration of every (target, model) of a run's `tuning` section
    (evaluation.tune.Tuned.to_dict), and KDTCN's variant chosen per target (the run's
    `selection`, evaluation.tune.Selection.to_dict), keeping targets the run did not tune."""
    current = json.loads(path.read_text()) if path.exists() else {"targets": {}}
    for target, models in tuning.items():
        current["targets"][target] = {
            name: _entry(t, tuned_until, source) for name, t in models.items()
        }
    for target, chosen in (selection or {}).items():
        entry = current["targets"].get(target, {}).get("KDTCN")
        if entry is not None:
            entry["variant"] = chosen["chosen"]
            entry["variant_validation_auc"] = chosen["validation_auc"]
    path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    return path


def _entry(t: dict[str, Any], tuned_until: str, source: str) -> dict[str, Any]:
    metric = t.get("metric", "auc")  # AUC for the classifiers, Theil U for next_close
    return {
        "net": t["net"],
        "lr": t["lr"],
        "weight_decay": t["weight_decay"],
        "metric": metric,
        f"validation_{metric}": t[f"best_mean_{metric}"],
        f"default_validation_{metric}": t[f"default_mean_{metric}"],
        "n_trials": t["n_trials"],
        "tuned_until": tuned_until,
        "source": source,
    }


def served_params(
    tuned_from: str | None,
    target: str,
    cut: dt.date,
    train: TrainConfig,
    *,
    path: Path = TUNED_PATH,
) -> tuple[NetParams, TrainConfig, dict[str, Any]]:
    """(network shape, training configuration, provenance) for a version of a model whose
    hyper-parameters come from `tuned_from` (models.zoo.TUNED_FROM), fitted up to
    `cut`. The defaults when nothing was tuned for it or the search read days after `cut`."""
    entry = None
    if tuned_from and path.exists():
        entry = json.loads(path.read_text())["targets"].get(target, {}).get(tuned_from)
    if entry is None:
        return NetParams(), train, {"source": "hand-set defaults"}
    if dt.date.fromisoformat(entry["tuned_until"]) > cut:
        return (
            NetParams(),
            train,
            {
                "source": "hand-set defaults",
                "why": f"the search read days up to {entry['tuned_until']}, after this cut",
            },
        )
    config = dataclasses.replace(train, lr=entry["lr"], weight_decay=entry["weight_decay"])
    return (
        NetParams(**entry["net"]),
        config,
        {
            "source": f"Optuna search for {tuned_from} ({entry['source']})",
            # every search so far ran on the demo's DJIA; a version of another symbol (GSPC)
            # uses those settings without a search of its own, and says so
            "searched_on": entry.get("symbol", "DJIA"),
            "tuned_until": entry["tuned_until"],
            **{k: v for k, v in entry.items() if "validation_" in k or k == "metric"},
            "net": entry["net"],
            "lr": entry["lr"],
            "weight_decay": entry["weight_decay"],
        },
    )


def served_variant(
    target: str, cut: dt.date, *, path: Path = TUNED_PATH
) -> tuple[str | None, dict[str, Any]]:
    """KDTCN's variant (a models.zoo.NEURAL_MODELS name) that `kdtcn evaluate` chose for
    `target` on validation folds, for a version fitted up to `cut`; None (the 1/rank mean)
    when none was chosen or the choice read days after `cut`. And its provenance."""
    entry = None
    if path.exists():
        entry = json.loads(path.read_text())["targets"].get(target, {}).get("KDTCN")
    if entry is None or "variant" not in entry:
        return None, {}
    if dt.date.fromisoformat(entry["tuned_until"]) > cut:
        return None, {"variant_not_used": f"chosen on days up to {entry['tuned_until']}"}
    return entry["variant"], {
        "variant": entry["variant"],
        "variant_validation_auc": entry.get("variant_validation_auc"),
    }
