"""A trained model as a versioned folder, written atomically, and loaded for serving.

A folder holds the networks' weights (weights.pt, weights_1.pt ... for a seed ensemble),
metrics.json, and config.json: a `SavedConfig` (typed, with its `format` number) plus the
normalisers. Folders written before the format was numbered (format 1) load with the
defaults they were written under; a format newer than this code reads fails with a message
that names the command that rebuilds the versions.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch
from torch.nn.utils import parametrize

from models.features import LEGACY_PRICE_FEATURES, Normaliser, price_features
from models.networks import NetParams, SequenceClassifier
from models.sources import Inputs
from models.targets import Target, get_target
from models.train import predict_outputs

__all__ = [
    "ARTIFACT_FORMAT",
    "ArtifactError",
    "SavedConfig",
    "ServedModel",
    "for_inference",
    "load_artifact",
    "save_artifact",
]

ARTIFACT_FORMAT = 2  # 1: config.json as an untyped dict (before SavedConfig)
REBUILD = "kdtcn train --walk-forward (or delete the artifacts folder and restart `kdtcn serve`)"


class ArtifactError(ValueError):
    """A saved model this code cannot read."""


@dataclass(frozen=True)
class SavedConfig:
    """What a saved version is and how it reads its inputs (config.json, without the
    normalisers). Defaults are those of folders written before a field existed."""

    name: str  # the zoo's model name (models.zoo)
    encoder: str
    target: str
    window: int
    price_dim: int
    event_dim: int
    price_features: tuple[str, ...] = tuple(LEGACY_PRICE_FEATURES)
    highway: int = 0
    highway_form: str = "signed"
    event_kind: str | None = None  # the event input it reads (models.zoo.NeuralSpec.events)
    event_slots: int = 0  # > 0: each day's event set of this many slots, pooled by attention
    variant: str | None = None  # KDTCN's variant chosen on validation folds (models.tuned)
    embedding_version: str | None = None
    embedding_until: str | None = None
    decision_cut: float = 0.5  # P at or above which the call is positive
    label_threshold: float | None = None  # big_move's q; None for a direction target
    value_scale: tuple[float, float] | None = None  # a regressor's (mean, std) of its targets
    interval: dict[str, float] | None = None  # a regressor's {"level", "low", "high"}
    train_start: str | None = None
    train_end: str | None = None
    version: str | None = None
    symbol: str | None = None
    seeds: tuple[int, ...] = (0,)
    net: NetParams = field(default_factory=NetParams)
    n_networks: int = 1
    format: int = ARTIFACT_FORMAT

    @property
    def rule(self) -> Target:
        """The target this version predicts, resolved from its stored name."""
        return get_target(self.target)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, where: str = "config.json") -> SavedConfig:
        """The config of a folder of any format this code reads; ArtifactError otherwise."""
        raw = dict(raw)
        found = int(raw.get("format", 1))
        if found > ARTIFACT_FORMAT:
            raise ArtifactError(
                f"{where}: saved in format {found}, this code reads formats up to "
                f"{ARTIFACT_FORMAT}; update the code or rebuild the versions: {REBUILD}"
            )
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("name", "encoder", "target", "window") if k not in raw]
        if missing:
            raise ArtifactError(f"{where}: no {', '.join(missing)}; rebuild with {REBUILD}")
        values = {k: v for k, v in raw.items() if k in known}
        for key in ("price_features", "seeds", "value_scale"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        values["net"] = NetParams(**(raw.get("net") or {}))
        values["format"] = found
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON types (tuples as lists), as config.json and the versions table store it."""
        out: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return out


@dataclass
class ServedModel:
    """Weights + normalisers + configuration; `predict` maps normalised (n, W, F) windows
    to what the target asks, the mean over the networks of a seed ensemble (one network per
    seed, all fitted on the same rows, so they share the normalisers): P(positive) of a
    classifier, the predicted value of a regressor (next_close: the log return).

    `config` is the version's `SavedConfig`.
    """

    networks: list[SequenceClassifier]
    config: SavedConfig
    price_norm: Normaliser | None
    event_norm: Normaliser | None

    def normalise(
        self, price_rows: np.ndarray | None, event_rows: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Raw price and event rows normalised with the version's training statistics (None
        for an input the version does not read or that is not given)."""
        p = (
            self.price_norm.transform(price_rows)
            if self.price_norm and price_rows is not None
            else None
        )
        e = (
            self.event_norm.transform(event_rows)
            if self.event_norm and event_rows is not None
            else None
        )
        return p, e

    def windows(
        self,
        inputs: Inputs,
        anchors: Sequence[int],
        *,
        drop: Mapping[int, Collection[int]] | None = None,
    ) -> np.ndarray:
        """This version's normalised windows anchored on rows `anchors` of `inputs`
        (models.sources.Inputs.windows); `drop` leaves events out."""
        return inputs.windows(
            anchors,
            window=self.config.window,
            rule=self.config.rule,
            price_norm=self.price_norm,
            event_norm=self.event_norm,
            slots=self.event_slots,
            drop=drop,
        )

    def price_rows(self, bars: pd.DataFrame) -> np.ndarray:
        """The raw (unnormalised) price feature rows this version reads, from daily bars."""
        return price_features(bars, list(self.config.price_features)).to_numpy(np.float32)

    @property
    def decision_cut(self) -> float:
        """Probability at or above which the call is positive ("up", "big"), chosen on
        training days (0.5 for a version trained before cuts were stored)."""
        return float(self.config.decision_cut)

    @property
    def label_threshold(self) -> float | None:
        """What the target's labels were fitted with on the training days (big_move: q)."""
        value = self.config.label_threshold
        return None if value is None else float(value)

    @property
    def horizon(self) -> int | None:
        """Trailing steps of a window that can change the answer (SequenceClassifier.horizon;
        the networks of an ensemble share their shape)."""
        return self.networks[0].horizon

    @property
    def event_slots(self) -> int:
        """> 0: the version reads each day's event set of this many slots (attention)."""
        return self.config.event_slots

    @property
    def is_regressor(self) -> bool:
        """Whether the networks regress a value (their outputs are standardised values)."""
        return self.config.value_scale is not None

    @property
    def interval(self) -> dict[str, float] | None:
        """A regressor's prediction interval: quantiles of its training residuals."""
        return self.config.interval

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """The answer for each normalised (n, W, F) window (see `combine`)."""
        x = np.asarray(windows, np.float32)
        return self.combine(np.stack([predict_outputs(net, x) for net in self.networks]))

    def combine(self, outputs: np.ndarray) -> np.ndarray:
        """The answer from the networks' raw outputs (networks, n): the mean P(positive) of
        a classifier, the mean value of a regressor in the values' units."""
        raw = torch.from_numpy(np.asarray(outputs, np.float32))
        if not self.is_regressor:
            return torch.sigmoid(raw).mean(dim=0).numpy()
        assert self.config.value_scale is not None
        mean, std = self.config.value_scale
        return raw.mean(dim=0).numpy().astype(np.float64) * std + mean


def save_artifact(
    directory: Path,
    *,
    networks: list[SequenceClassifier],
    config: SavedConfig,
    price_norm: Normaliser | None,
    event_norm: Normaliser | None,
    metrics: dict[str, Any],
) -> Path:
    """Write weights (weights.pt, then weights_1.pt ... for the other seeds of an
    ensemble), normalisers, config and metrics into a temp sibling, then rename. The config's
    network shape and count are taken from `networks`."""
    config = dataclasses.replace(config, net=networks[0].params, n_networks=len(networks))
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; artifacts are read by other processes
    try:
        for i, network in enumerate(networks):
            torch.save(network.state_dict(), tmp / _weights_name(i))
        (tmp / "config.json").write_text(
            json.dumps(
                {
                    **config.to_dict(),
                    "price_norm": price_norm.to_dict() if price_norm else None,
                    "event_norm": event_norm.to_dict() if event_norm else None,
                },
                indent=2,
                default=str,
            )
        )
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
        if directory.exists():
            raise FileExistsError(f"artifact {directory} exists; versions are immutable")
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _weights_name(i: int) -> str:
    return "weights.pt" if i == 0 else f"weights_{i}.pt"


M = TypeVar("M", bound=torch.nn.Module)


def for_inference(network: M) -> M:
    """A loaded network in eval mode with its weight norms folded into plain weights: a
    parametrised weight is recomputed (g * v / |v|) on every forward pass, which cost an
    explanation's thousands of coalitions 20 ms. Served networks are never trained again."""
    for module in network.modules():
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return network.eval().requires_grad_(False)


def load_artifact(directory: Path) -> ServedModel:
    """The saved version in `directory`, ready to predict; ArtifactError if this code cannot
    read it (the message names the command that rebuilds it)."""
    directory = Path(directory)
    raw = json.loads((directory / "config.json").read_text())
    config = SavedConfig.from_dict(raw, where=str(directory / "config.json"))
    networks = []
    for i in range(config.n_networks):
        network = SequenceClassifier(
            encoder=config.encoder,
            price_dim=config.price_dim,
            event_dim=config.event_dim,
            params=config.net,
            highway=config.highway,
            highway_form=config.highway_form,
            event_slots=config.event_slots,
        )
        network.load_state_dict(torch.load(directory / _weights_name(i), weights_only=True))
        networks.append(for_inference(network))
    pn, en = raw.get("price_norm"), raw.get("event_norm")
    return ServedModel(
        networks,
        config,
        Normaliser.from_dict(pn) if pn else None,
        Normaliser.from_dict(en) if en else None,
    )
