"""Training a sequence classifier: BCE, Adam, early stopping on a chronological tail."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from models.windows import Windows, WindowStack

M = TypeVar("M", bound=nn.Module)

__all__ = [
    "TrainConfig",
    "fit_classifier",
    "predict_outputs",
    "predict_proba",
    "seed_everything",
]


@dataclass
class TrainConfig:
    """Settings of `fit_classifier`: at most `epochs` passes of Adam (learning rate `lr`, L2
    `weight_decay`) over shuffled batches of `batch_size`, stopping after `patience` epochs
    without a better loss on the validation tail (`val_fraction` of the samples, the last)."""

    epochs: int = 40
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    patience: int = 5
    val_fraction: float = 0.15  # the last share of training samples, chronologically


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0


def seed_everything(seed: int) -> None:
    """Seed torch's and numpy's global random generators (not Python's `random`)."""
    torch.manual_seed(seed)
    np.random.seed(seed)


def predict_outputs(
    model: nn.Module, x: np.ndarray | WindowStack, batch_size: int = 1024
) -> np.ndarray:
    """The network's raw outputs (float32): logits of a classifier, values of a regressor."""
    if model.training:  # eval() walks every module: served networks are loaded in eval mode
        model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):  # a WindowStack's are cut per batch
            out.append(model(torch.from_numpy(np.asarray(x[start : start + batch_size]))))
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


def predict_proba(
    model: nn.Module, x: np.ndarray | WindowStack, batch_size: int = 1024
) -> np.ndarray:
    """P(positive) of a classifier: the sigmoid of its logits."""
    return torch.sigmoid(torch.from_numpy(predict_outputs(model, x, batch_size))).numpy()


def split_validation(train: Windows, fraction: float) -> tuple[Windows, Windows]:
    """Chronological tail as validation (anchors are increasing)."""
    n_val = max(1, int(round(len(train.y) * fraction)))
    cut = len(train.y) - n_val  # slices: views of the windows, not copies
    return (
        Windows(train.x[:cut], train.y[:cut], train.anchor[:cut]),
        Windows(train.x[cut:], train.y[cut:], train.anchor[cut:]),
    )


def _batches(x: np.ndarray | WindowStack) -> Callable[[torch.Tensor], torch.Tensor]:
    """The windows of an index tensor: indexed in the array, or cut from a WindowStack's
    rows per batch (the same values, without the stack's (n, W, F) array)."""
    if isinstance(x, WindowStack):
        return lambda batch: torch.from_numpy(x.gather(batch.numpy()))
    whole = torch.from_numpy(x)
    return lambda batch: whole[batch]


def fit_classifier(
    model: M,
    train: Windows,
    *,
    config: TrainConfig,
    seed: int,
    loss_fn: nn.Module | None = None,
) -> tuple[M, History]:
    """Fit with early stopping on validation loss; the best epoch's weights are restored.
    The loss is binary cross-entropy on logits unless `loss_fn` is given (a regressor passes
    nn.MSELoss with float targets in `train.y`)."""
    seed_everything(seed)
    fit_set, val_set = split_validation(train, config.val_fraction)
    take = _batches(fit_set.x)
    y = torch.from_numpy(fit_set.y.astype(np.float32))
    xv = torch.from_numpy(np.asarray(val_set.x))
    yv = torch.from_numpy(val_set.y.astype(np.float32))
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = loss_fn or nn.BCEWithLogitsLoss()
    history = History()
    best, best_loss, waited = copy.deepcopy(model.state_dict()), float("inf"), 0
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(y), generator=generator)
        total = 0.0
        for start in range(0, len(y), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(take(batch)), y[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(xv), yv))
        history.train_loss.append(total / max(1, len(y)))
        history.val_loss.append(val_loss)
        if val_loss < best_loss - 1e-5:
            best, best_loss, waited = copy.deepcopy(model.state_dict()), val_loss, 0
            history.best_epoch = epoch
        else:
            waited += 1
            if waited >= config.patience:
                break
    model.load_state_dict(best)
    model.eval()
    return model, history
