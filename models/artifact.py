"""A trained model as a versioned folder, written atomically, and loaded for serving."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch
from torch.nn.utils import parametrize

from models.features import LEGACY_PRICE_FEATURES, Normaliser, price_features
from models.networks import NetParams, SequenceClassifier
from models.train import predict_outputs

__all__ = ["ServedModel", "for_inference", "save_artifact", "load_artifact"]


@dataclass
class ServedModel:
    """Weights + normalisers + configuration; `predict` maps normalised (n, W, F) windows
    to what the target asks, the mean over the networks of a seed ensemble (one network per
    seed, all fitted on the same rows, so they share the normalisers): P(positive) of a
    classifier, the predicted value of a regressor (next_close: the log return).

    `config` keys: name, encoder, target, window, price_features, price_dim, event_dim,
    event_kind, event_slots (> 0: the network pools each day's event set by attention),
    variant (KDTCN's variant chosen on validation folds, models.tuned.served_variant),
    embedding_version, train_start, train_end, version, seeds, decision_cut,
    label_threshold (big_move's q; None for a direction target); a regressor's value_scale
    ([mean, std] its outputs are standardised with) and interval (quantiles of its
    residuals on training days: {"level", "low", "high"}, in the values' units).
    """

    networks: list[SequenceClassifier]
    config: dict[str, Any]
    price_norm: Normaliser | None
    event_norm: Normaliser | None

    def normalise(
        self, price_rows: np.ndarray | None, event_rows: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
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

    def price_rows(self, bars: pd.DataFrame) -> np.ndarray:
        """The raw (unnormalised) price feature rows this version reads, from daily bars."""
        columns = self.config.get("price_features", LEGACY_PRICE_FEATURES)
        return price_features(bars, columns).to_numpy(np.float32)

    @property
    def decision_cut(self) -> float:
        """Probability at or above which the call is positive ("up", "big"), chosen on
        training days (0.5 for a version trained before cuts were stored)."""
        return float(self.config.get("decision_cut", 0.5))

    @property
    def label_threshold(self) -> float | None:
        """What the target's labels were fitted with on the training days (big_move: q)."""
        value = self.config.get("label_threshold")
        return None if value is None else float(value)

    @property
    def horizon(self) -> int | None:
        """Trailing steps of a window that can change the answer (SequenceClassifier.horizon;
        the networks of an ensemble share their shape)."""
        return self.networks[0].horizon

    @property
    def event_slots(self) -> int:
        """> 0: the version reads each day's event set of this many slots (attention)."""
        return int(self.config.get("event_slots", 0))

    @property
    def is_regressor(self) -> bool:
        return self.config.get("value_scale") is not None

    @property
    def interval(self) -> dict[str, float] | None:
        """A regressor's prediction interval: quantiles of its training residuals."""
        return self.config.get("interval")

    def predict(self, windows: np.ndarray) -> np.ndarray:
        x = np.asarray(windows, np.float32)
        return self.combine(np.stack([predict_outputs(net, x) for net in self.networks]))

    def combine(self, outputs: np.ndarray) -> np.ndarray:
        """The answer from the networks' raw outputs (networks, n): the mean P(positive) of
        a classifier, the mean value of a regressor in the values' units."""
        raw = torch.from_numpy(np.asarray(outputs, np.float32))
        if not self.is_regressor:
            return torch.sigmoid(raw).mean(dim=0).numpy()
        mean, std = self.config["value_scale"]
        return raw.mean(dim=0).numpy().astype(np.float64) * std + mean


def save_artifact(
    directory: Path,
    *,
    networks: list[SequenceClassifier],
    config: dict[str, Any],
    price_norm: Normaliser | None,
    event_norm: Normaliser | None,
    metrics: dict[str, Any],
) -> Path:
    """Write weights (weights.pt, then weights_1.pt ... for the other seeds of an
    ensemble), normalisers, config and metrics into a temp sibling, then rename."""
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
                    **config,
                    "net": asdict(networks[0].params),
                    "n_networks": len(networks),
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
    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text())
    networks = []
    for i in range(config.pop("n_networks", 1)):
        network = SequenceClassifier(
            encoder=config["encoder"],
            price_dim=config["price_dim"],
            event_dim=config["event_dim"],
            params=NetParams(**config.get("net", {})),
            highway=config.get("highway", 0),
            highway_form=config.get("highway_form", "signed"),
            event_slots=config.get("event_slots", 0),
        )
        network.load_state_dict(torch.load(directory / _weights_name(i), weights_only=True))
        networks.append(for_inference(network))
    pn, en = config.pop("price_norm"), config.pop("event_norm")
    return ServedModel(
        networks,
        config,
        Normaliser.from_dict(pn) if pn else None,
        Normaliser.from_dict(en) if en else None,
    )
