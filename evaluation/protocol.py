"""The frozen evaluation protocol: every choice the development runs made, written down with
its hash, and the confirmation period on which it is run once.

`current_protocol()` reads the choices from the code as it stands: the harness's settings
(evaluation.folds.EvalConfig with the CLI's search budget), the training and network
defaults, every model's spec and whose searched settings it uses, KDTCN's variants, the
comparisons, the price features, the targets, next_close's options, the searched
hyper-parameters and variants of `models/tuned.json`, the statistics, the development split
and the confirmation plan. `protocol.json` beside this module is that dict as frozen, with
the sha256 of its canonical JSON (sorted keys, no spaces). `load_protocol()` checks the hash;
`tests/test_protocol.py` checks that the code still equals the frozen file, so a change to any
of these choices fails the suite until it is frozen again (`kdtcn protocol freeze`), which
gives a new hash, and a new hash needs a new confirmation period.

The confirmation (evaluation.confirm) runs every model that reads prices only, on every
target, on days no development choice read: the bundled histories after the development
test period (2016-07-01), on each symbol of the plan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = [
    "PROTOCOL_PATH",
    "TUNE_TRIALS",
    "ProtocolError",
    "current_protocol",
    "freeze",
    "load_protocol",
    "protocol_hash",
]

PROTOCOL_PATH = Path(__file__).with_name("protocol.json")
TUNE_TRIALS = 6  # `kdtcn evaluate`'s search budget per target and tuned model

# The development split (the DJIA + Reddit demo; every choice was made on these days).
DEVELOPMENT = {
    "symbol": "DJIA",
    "prices_from": "2008-08-08",
    "train_end": "2014-12-31",
    "test_start": "2015-01-02",
    "test_end": "2016-07-01",
}
# Run once per protocol hash: price-only models on the bundled histories after the
# development test period. Training: every day from the development data's first day up to
# the day before the confirmation period (its prices are not "unseen", its choices are
# frozen); the price history before that pre-trains `TCN (pre-trained)` as in development.
CONFIRMATION = {
    "symbols": ["DJIA", "GSPC"],
    "prices_from": "2008-08-08",
    "train_end": "2016-07-01",
    "test_start": "2016-07-02",
    "test_end": "2020-12-09",  # the last day of the bundled histories
    "models": [
        "TCN",
        "TCN (wavelet-denoised)",
        "TCN (pre-trained)",
        "RNN",
        "LSTM",
        "Stacked LSTM",
        "GRU",
        "BiLSTM",
        "1-D CNN",
    ],
    "rolling_models": ["TCN"],
    "compared": ["TCN", "TCN (pre-trained)"],
}


class ProtocolError(ValueError):
    """The frozen protocol file is missing, altered, or not what the code runs."""


def _canonical(protocol: dict[str, Any]) -> str:
    return json.dumps(protocol, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def protocol_hash(protocol: dict[str, Any]) -> str:
    """sha256 (hex) of the protocol's canonical JSON."""
    return hashlib.sha256(_canonical(protocol).encode()).hexdigest()


def current_protocol(*, tuned_path: Path | None = None) -> dict[str, Any]:
    """The protocol as the code states it now (JSON types: tuples become lists)."""
    from evaluation.folds import EvalConfig
    from evaluation.harness import COMPARISONS
    from evaluation.regression import RegressionOptions
    from evaluation.tune import FOLD_DAYS, N_FOLDS
    from models.features import PRICE_FEATURES
    from models.inputs import EVENT_SLOTS
    from models.networks import NetParams
    from models.stats import block_bootstrap_diff
    from models.targets import TARGETS
    from models.tuned import TUNED_PATH
    from models.zoo import KDTCN_VARIANTS, NEURAL_MODELS, TUNED_FROM

    cfg = EvalConfig(tune_trials=TUNE_TRIALS)
    harness = {
        k: v
        for k, v in dataclasses.asdict(cfg).items()
        if k not in ("train", "tune_storage", "train_end", "test_start", "test_end")
    }
    tuned = json.loads((tuned_path or TUNED_PATH).read_text())["targets"]
    defaults = block_bootstrap_diff.__kwdefaults__ or {}
    protocol = {
        "name": "kdtcn-1",
        "harness": harness,
        "train": dataclasses.asdict(cfg.train),
        "net_defaults": dataclasses.asdict(NetParams()),
        "models": {name: spec.protocol_record() for name, spec in NEURAL_MODELS.items()},
        "tuned_from": TUNED_FROM,
        "kdtcn_variants": list(KDTCN_VARIANTS),
        "comparisons": COMPARISONS,
        "price_features": PRICE_FEATURES,
        "event_slots": EVENT_SLOTS,
        "targets": {name: t.protocol_record() for name, t in TARGETS.items()},
        "regression_options": dataclasses.asdict(RegressionOptions()),
        "search": {"n_folds": N_FOLDS, "fold_days": FOLD_DAYS, "trials": TUNE_TRIALS},
        "hyper_parameters": tuned,
        "statistics": {
            "bootstrap": "paired moving-block (arch), block length per comparison "
            "(Politis-White on the per-day loss difference) unless harness.block_length",
            "bootstrap_seed": defaults.get("seed", 0),
            "interval": "95% percentile",
            "p_value": "two-sided share of sign flips; reported as < 1/B when none flips",
            "multiple_comparisons": "Holm over every comparison of a run",
            "seeds": "per-seed mean and sample std (ddof=1); the seed ensemble's mean "
            "probability is scored and compared",
        },
        "development": DEVELOPMENT,
        "confirmation": CONFIRMATION,
    }
    return json.loads(_canonical(protocol))


def load_protocol(path: Path = PROTOCOL_PATH) -> tuple[dict[str, Any], str]:
    """(the frozen protocol, its hash); ProtocolError if the file is missing or its hash
    does not match its content."""
    if not path.exists():
        raise ProtocolError(f"{path} is missing: `kdtcn protocol freeze` writes it")
    stored = json.loads(path.read_text())
    protocol, digest = stored.get("protocol"), stored.get("sha256")
    if not isinstance(protocol, dict) or protocol_hash(protocol) != digest:
        raise ProtocolError(
            f"{path}: the sha256 does not match the protocol: the file was edited by hand; "
            "`kdtcn protocol freeze` writes a new protocol with its hash"
        )
    return protocol, digest


def differences(frozen: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    """The keys (dotted paths) whose values differ between two protocols."""
    out = []
    for key in sorted(set(frozen) | set(now)):
        a, b = frozen.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(differences(a, b, f"{prefix}{key}."))
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


def freeze(path: Path = PROTOCOL_PATH) -> tuple[str, list[str]]:
    """Write the code's protocol with its hash; (the hash, what changed against the file)."""
    now = current_protocol()
    changed: list[str] = []
    if path.exists():
        old = json.loads(path.read_text()).get("protocol") or {}
        changed = differences(old, now)
    digest = protocol_hash(now)
    body = {"sha256": digest, "protocol": now}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return digest, changed
