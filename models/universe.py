"""One network across the stocks of a universe: pooled samples, each stock's own rows, and
its related stocks' events weighted by attention with the relation as input.

The data of a universe is held as tables, not windows, so a sample is only (stock, row):
* `prices` (S, T, P): each stock's price feature rows, normalised per stock on training rows;
* `events` (S, T, E) or None: each stock's news of each row (pooled item vectors and a count);
* `related` (S, K) indices of each stock's related stocks, `relation` (S, K, F) their
  relation features (kg.companies.RELATION_FEATURES), `related_mask` (S, K).
A sample (s, i) reads rows i - window .. i - 1 of its stock (the target row i itself is
never read), and, with `use_related`, the same rows of its related stocks' events. The
tables are buffers that a saved state leaves out: a served version rebuilds them from the
rows it reads (models.universe_data).

Per row the network sees [prices, a projection of its own events, a projection of the
attention-weighted events of its related stocks], then a dilated causal TCN (or, with
`encoder`, one of the tutorials' recurrent or convolutional encoders of models.networks over
the same window) and a logistic output. Attention logits come from the related stock's
events, the relation features and the stock's own events of that row; related stocks
without news that row are masked out.
Settings are fixed (UniverseConfig); nothing is chosen on development or test rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from models.networks import ENCODERS, NetParams
from models.tcn import TemporalConvNet

__all__ = ["UniverseTables", "UniverseConfig", "UniverseNet", "fit_universe", "predict_universe"]


@dataclass
class UniverseTables:
    """A universe's rows (see the module docstring); the last event column is the row's
    item count (log1p), which is 0 on rows without news."""

    prices: np.ndarray
    events: np.ndarray | None = None
    related: np.ndarray | None = None
    relation: np.ndarray | None = None
    related_mask: np.ndarray | None = None


@dataclass(frozen=True)
class UniverseConfig:
    """The network's fixed settings (chosen before any result, not searched)."""

    window: int = 5
    hidden: int = 32
    event_hidden: int = 16
    levels: int = 2
    kernel_size: int = 2
    dropout: float = 0.2
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4


class UniverseNet(nn.Module):
    """The network of the module docstring over UniverseTables held as tensors."""

    prices: torch.Tensor
    events: torch.Tensor
    related: torch.Tensor
    relation: torch.Tensor
    related_mask: torch.Tensor

    def __init__(
        self,
        tables: UniverseTables,
        *,
        use_events: bool,
        use_related: bool,
        config: UniverseConfig,
        encoder: str = "tcn",
    ) -> None:
        """Hold `tables` as buffers; read events when `use_events`, related stocks' events
        when `use_related` (which needs the event and relation tables); `encoder`: "tcn" (the
        served network) or another key of models.networks.ENCODERS, of width
        `config.hidden`."""
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; one of {sorted(ENCODERS)}")
        self.window = config.window
        self.use_events = use_events and tables.events is not None
        self.use_related = use_related and self.use_events and tables.related is not None
        self.register_buffer(
            "prices", torch.as_tensor(tables.prices, dtype=torch.float32), persistent=False
        )
        n_in = tables.prices.shape[2]
        if self.use_events:
            assert tables.events is not None
            self.register_buffer(
                "events", torch.as_tensor(tables.events, dtype=torch.float32), persistent=False
            )
            e = tables.events.shape[2]
            self.own = nn.Sequential(nn.Linear(e, config.event_hidden), nn.Tanh())
            n_in += config.event_hidden
        if self.use_related:
            assert tables.relation is not None and tables.related_mask is not None
            self.register_buffer(
                "related", torch.as_tensor(tables.related, dtype=torch.long), persistent=False
            )
            self.register_buffer(
                "relation",
                torch.as_tensor(tables.relation, dtype=torch.float32),
                persistent=False,
            )
            self.register_buffer(
                "related_mask",
                torch.as_tensor(tables.related_mask, dtype=torch.bool),
                persistent=False,
            )
            e = tables.events.shape[2]  # type: ignore[union-attr]
            f = tables.relation.shape[2]
            self.key = nn.Linear(e + f + config.event_hidden, config.event_hidden)
            self.score = nn.Linear(config.event_hidden, 1, bias=False)
            self.value = nn.Sequential(nn.Linear(e, config.event_hidden), nn.Tanh())
            n_in += config.event_hidden
        self.encoder: nn.Module | None = None
        if encoder == "tcn":
            self.tcn = TemporalConvNet(
                n_in,
                [config.hidden] * config.levels,
                kernel_size=config.kernel_size,
                dropout=config.dropout,
            )
            width = config.hidden
        else:  # (B, W, F) -> (B, width), reading only the window
            self.encoder = ENCODERS[encoder](
                n_in, NetParams(hidden=config.hidden, dropout=config.dropout)
            )
            width = int(self.encoder.out_dim)  # type: ignore[arg-type]
        self.out = nn.Linear(width, 1)

    def _rows(self, rows: torch.Tensor) -> torch.Tensor:
        return rows[:, None] + torch.arange(-self.window, 0, device=rows.device)[None, :]

    def attention(
        self, stock: torch.Tensor, rows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Related stocks' attention weights (B, W, K) and the weighted projection of their
        events (B, W, H) for samples (stock, row)."""
        win = self._rows(rows)  # (B, W)
        own = self.own(self.events[stock[:, None], win])  # (B, W, H)
        rel = self.related[stock]  # (B, K)
        ev = self.events[rel[:, :, None], win[:, None, :]].transpose(1, 2)  # (B, W, K, E)
        feats = self.relation[stock][:, None].expand(-1, ev.shape[1], -1, -1)  # (B, W, K, F)
        own_k = own[:, :, None].expand(-1, -1, ev.shape[2], -1)
        logits = self.score(torch.tanh(self.key(torch.cat([ev, feats, own_k], -1)))).squeeze(-1)
        has_news = ev[..., -1] > 0  # the count column
        usable = self.related_mask[stock][:, None, :] & has_news  # (B, W, K)
        logits = logits.masked_fill(~usable, float("-inf"))
        weights = torch.softmax(logits, dim=-1)
        weights = torch.nan_to_num(weights, nan=0.0)  # a row without any related news
        summary = (weights[..., None] * self.value(ev)).sum(dim=2)
        return weights, summary

    def forward(self, stock: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Logits of P(up) for samples (stock index, target row)."""
        win = self._rows(rows)
        parts = [self.prices[stock[:, None], win]]
        if self.use_events:
            parts.append(self.own(self.events[stock[:, None], win]))
        if self.use_related:
            parts.append(self.attention(stock, rows)[1])
        x = torch.cat(parts, dim=-1)  # (B, W, F)
        if self.encoder is not None:
            return self.out(self.encoder(x)).squeeze(-1)
        return self.out(self.tcn.forward_last(x.transpose(1, 2))).squeeze(-1)


def fit_universe(
    tables: UniverseTables,
    stock: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    *,
    use_events: bool,
    use_related: bool,
    config: UniverseConfig = UniverseConfig(),
    seed: int = 0,
    encoder: str = "tcn",
) -> UniverseNet:
    """Fit a UniverseNet (with `encoder`) on the training samples (stock, row, label) with
    fixed settings."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = UniverseNet(
        tables, use_events=use_events, use_related=use_related, config=config, encoder=encoder
    )
    opt = torch.optim.Adam(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    loss_fn = nn.BCEWithLogitsLoss()
    s_all = torch.as_tensor(stock, dtype=torch.long)
    r_all = torch.as_tensor(rows, dtype=torch.long)
    y_all = torch.as_tensor(labels, dtype=torch.float32)
    net.train()
    for _ in range(config.epochs):
        order = torch.as_tensor(rng.permutation(len(stock)))
        for k in range(0, len(order), config.batch_size):
            b = order[k : k + config.batch_size]
            opt.zero_grad()
            loss = loss_fn(net(s_all[b], r_all[b]), y_all[b])
            loss.backward()
            opt.step()
    net.eval()
    return net


@torch.no_grad()
def predict_universe(net: UniverseNet, stock: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """P(up) of samples (stock index, target row)."""
    net.eval()
    out = []
    s_all = torch.as_tensor(stock, dtype=torch.long)
    r_all = torch.as_tensor(rows, dtype=torch.long)
    for k in range(0, len(s_all), 2048):
        out.append(torch.sigmoid(net(s_all[k : k + 2048], r_all[k : k + 2048])).numpy())
    return np.concatenate(out) if out else np.zeros(0)
