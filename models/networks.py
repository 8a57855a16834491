"""Sequence classifiers over daily windows: KDTCN and the neural baselines, by name.

Every network takes (batch, window, features) where the features are the price columns
followed by the event (or word) columns, and returns the logit of P(up) for the day after
the window. High-dimensional event inputs first pass a per-step linear projection to
`event_proj` dims, so they do not swamp the few price columns. Which columns a model sees
(prices, events, both) is decided by the caller; the encoder is chosen from `ENCODERS`.

`highway` > 0 adds LSTNet's linear autoregressive path (Lai et al., 2018): a linear map of
the price columns of the last `highway` steps added to the logit, so a network can express
at least what a linear model of recent returns and ranges (ARIMA, reversal, HAR) does,
beside what the encoder learns. In the "signed_abs" form (the default) the path reads each
normalised column clipped to +-`HIGHWAY_CLIP` and its absolute value too: magnitudes are what
volatility (big_move) depends on, and a linear map of signed inputs alone extrapolates a
crash day (-3.4% on 2016-06-24, about -4 sd) into a confident "calm". Versions saved before
the form existed load as "signed" (unclipped signed inputs).

`event_slots` > 0: the event columns are a day's event set (models.inputs.stack_events), and
the network pools it itself, by attention: each event's score is a learned function of its
vector plus its prior log-weight (1/rank), and the day's vector is the softmax-weighted sum.
With the learned part at zero this is the fixed 1/rank mean; `attention` returns the
weights, another view for an explanation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from models.inputs import NO_EVENT
from models.tcn import TemporalConvNet

__all__ = ["SequenceClassifier", "ENCODERS", "NetParams", "HIGHWAY_CLIP", "HIGHWAY_FORMS"]

HIGHWAY_CLIP = 4.0  # normalised units (training-day standard deviations)
HIGHWAY_FORMS = ("signed", "signed_abs")


@dataclass(frozen=True)
class NetParams:
    """The shape of a network: encoder width, TCN levels, dropout, event projection size.
    The defaults are the hand-set ones; `evaluation.tune` searches them."""

    hidden: int = 24
    levels: int = 4
    dropout: float = 0.2
    event_proj: int = 16


class _Recurrent(nn.Module):
    def __init__(
        self,
        cell: Callable[..., nn.RNNBase],
        n_in: int,
        hidden: int,
        *,
        layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.rnn = cell(
            n_in,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.out_dim = hidden * (2 if bidirectional else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, H)
        out, _ = self.rnn(x)
        # Bidirectional: both directions read only the window, which ends at the last
        # observable day, so nothing after the prediction point is seen.
        return out[:, -1]


class _TCN(nn.Module):
    def __init__(
        self, n_in: int, hidden: int, *, levels: int = 4, kernel_size: int = 3, dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.tcn = TemporalConvNet(
            n_in, [hidden] * levels, kernel_size=kernel_size, dropout=dropout
        )
        self.out_dim = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tcn.forward_last(x.transpose(1, 2))


class _CNN(nn.Module):
    """Plain (non-dilated) 1-D convolutions with global max pooling over the window."""

    def __init__(self, n_in: int, hidden: int, *, dropout: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(n_in, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv1d(hidden, hidden, 3, padding=1),
            nn.ReLU(),
        )
        self.out_dim = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.transpose(1, 2)).amax(dim=2)


ENCODERS: dict[str, Callable[[int, NetParams], nn.Module]] = {
    "tcn": lambda n, p: _TCN(n, p.hidden, levels=p.levels, dropout=p.dropout),
    "rnn": lambda n, p: _Recurrent(nn.RNN, n, p.hidden),
    "lstm": lambda n, p: _Recurrent(nn.LSTM, n, p.hidden),
    "stacked_lstm": lambda n, p: _Recurrent(nn.LSTM, n, p.hidden, layers=2, dropout=p.dropout),
    "gru": lambda n, p: _Recurrent(nn.GRU, n, p.hidden),
    "bilstm": lambda n, p: _Recurrent(nn.LSTM, n, p.hidden, bidirectional=True),
    "cnn": lambda n, p: _CNN(n, p.hidden, dropout=p.dropout),
}


class SequenceClassifier(nn.Module):
    """[prices | projected events] per step -> encoder -> linear -> logit.

    `encoder`: a key of `ENCODERS`; `price_dim`, `event_dim`: the price and event columns of
    an input step (either may be 0, not both); `params`: the shape (default `NetParams()`);
    `highway`: steps of the linear price path (0: none), in the form `highway_form`;
    `event_slots`: slots of a day's event set pooled by attention (0: the event columns are
    one pooled row). See the module docstring.
    """

    def __init__(
        self,
        *,
        encoder: str,
        price_dim: int,
        event_dim: int,
        params: NetParams | None = None,
        highway: int = 0,
        highway_form: str = "signed_abs",
        event_slots: int = 0,
    ) -> None:
        """Build the network (see the class docstring); ValueError for an unknown
        `highway_form`, event columns that do not split into the slots, or no input columns."""
        super().__init__()
        if highway_form not in HIGHWAY_FORMS:
            raise ValueError(f"highway_form must be one of {HIGHWAY_FORMS}, not {highway_form!r}")
        params = params or NetParams()
        self.params = params
        self.price_dim, self.event_dim = price_dim, event_dim
        self.highway_steps = highway if price_dim else 0
        self.highway_form = highway_form
        width = highway * price_dim * (2 if highway_form == "signed_abs" else 1)
        self.highway = nn.Linear(width, 1) if self.highway_steps else None
        self.event_slots = event_slots if event_dim else 0
        self.attend: nn.Sequential | None = None
        if self.event_slots:
            if event_dim % event_slots:
                raise ValueError(f"{event_dim} event columns do not split into {event_slots} slots")
            event_dim = event_dim // event_slots - 1  # each slot: a vector and its prior
            hidden = nn.Linear(event_dim, params.event_proj)  # created first: the seed's draws
            score = nn.Linear(params.event_proj, 1)
            nn.init.zeros_(score.weight)  # starts as the 1/rank mean
            nn.init.zeros_(score.bias)
            self.attend = nn.Sequential(hidden, nn.Tanh(), score)
        self.project = nn.Linear(event_dim, params.event_proj) if event_dim else None
        n_in = price_dim + (params.event_proj if event_dim else 0)
        if n_in == 0:
            raise ValueError("a model needs price or event inputs")
        self.encoder = ENCODERS[encoder](n_in, params)
        out_dim = cast(int, self.encoder.out_dim)
        self.head = nn.Sequential(nn.Dropout(params.dropout), nn.Linear(out_dim, 1))

    @property
    def horizon(self) -> int | None:
        """How many trailing steps of a window can change the output: a TCN reads its last
        step only, so its receptive field (and the linear path's steps); None when every
        step can (the recurrent and plain convolutional encoders). Attribution crops
        windows to it and knows that events before it cannot matter."""
        tcn = getattr(self.encoder, "tcn", None)
        if tcn is None:
            return None
        return max(tcn.receptive_field, self.highway_steps)

    def attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The pooled event vectors (B, T, d) of windows `x` and the weights (B, T, slots)
        that pooled them; empty slots get ~0 weight, a day without events pools to 0."""
        if self.attend is None:
            raise ValueError("this network pools no event sets")
        cells = x[..., self.price_dim :].unflatten(-1, (self.event_slots, -1))
        vectors, prior = cells[..., :-1], cells[..., -1]
        vectors = vectors * (prior > NO_EVENT / 2).unsqueeze(-1)
        weights = torch.softmax(self.event_scores(vectors) + prior, dim=-1)
        return (weights.unsqueeze(-1) * vectors).sum(dim=-2), weights

    def event_scores(self, vectors: torch.Tensor) -> torch.Tensor:
        """The learned part of the attention score of each (normalised) event vector
        (..., d) -> (...): a score depends on its own event only, so attribution scores
        each event once and re-pools any coalition from the scores (models.attribution)."""
        if self.attend is None:
            raise ValueError("this network pools no event sets")
        return self.attend(vectors).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits (B,) of windows `x` (B, T, price_dim + event_dim)."""
        events = None
        if self.project is not None:
            events = x[..., self.price_dim :]
            if self.attend is not None:
                events = self.attention(x)[0]
        return self.forward_pooled(x[..., : self.price_dim], events)

    def forward_pooled(self, prices: torch.Tensor, events: torch.Tensor | None) -> torch.Tensor:
        """The logit from a window's price columns (B, T, price_dim) and its event columns
        (B, T, d), for a network that pools event sets the pooled vectors (`attention`'s
        first part): `forward` after the pooling."""
        parts = []
        if self.price_dim:
            parts.append(prices)
        if self.project is not None:
            assert events is not None
            parts.append(torch.tanh(self.project(events)))
        logit = self.head(self.encoder(torch.cat(parts, dim=-1))).squeeze(-1)
        if self.highway is not None:
            recent = prices[:, -self.highway_steps :].flatten(1)
            if self.highway_form == "signed_abs":  # "signed": as versions before the form
                recent = recent.clamp(-HIGHWAY_CLIP, HIGHWAY_CLIP)
                recent = torch.cat([recent, recent.abs()], dim=1)
            logit = logit + self.highway(recent).squeeze(-1)
        return logit
