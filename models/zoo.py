"""The model zoo: every fact about a neural model in one entry.

Each entry says what the network reads (prices, an event input by name), how it is built
(encoder, highway, event slots), how it is fitted (pre-training, denoising), whose searched
hyper-parameters it uses (`tuned_from`) and which variants it stands for (`variants`).
Serving, the backtest and the evaluation harness read models from here only; whether
serving can feed a model (`servable`) follows from its inputs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from models.inputs import EVENT_SLOTS

__all__ = [
    "HIGHWAY",
    "KDTCN_VARIANTS",
    "NEURAL_MODELS",
    "NeuralSpec",
    "SERVABLE",
    "SERVED_EVENT_INPUTS",
    "TUNED_FROM",
    "TUTORIAL_NETS",
    "model_key",
]

# The event inputs serving builds (app.services.training): the KG-driven event embeddings,
# pooled or as event sets (not yet the text channels).
SERVED_EVENT_INPUTS = (None, "kg_events", "kg_event_sets")
# Fields of a spec that the frozen protocol kdtcn-1 records per model (evaluation.protocol).
PROTOCOL_FIELDS = ("encoder", "prices", "events", "highway", "pretrain", "denoise", "event_slots")


@dataclass(frozen=True)
class NeuralSpec:
    """One neural model of the zoo."""

    encoder: str
    prices: bool
    events: str | None  # key into the `inputs` dict, or None
    highway: int = 0  # steps of the linear autoregressive path over prices (0: none)
    pretrain: bool = False  # first fitted on the price history before the news
    denoise: bool = False  # each window's prices wavelet-denoised on their own (causal)
    # > 0: `events` names event-set rows of this many slots, pooled by the network's
    # attention (models.networks) instead of the fixed 1/rank mean
    event_slots: int = 0
    # whose searched hyper-parameters it uses when tuning is on (None: the defaults); the
    # event ablations share KDTCN's, so they differ from it by their input only
    tuned_from: str | None = None
    # the models it stands for, one of which a run chooses on validation folds
    variants: tuple[str, ...] = ()

    @property
    def servable(self) -> bool:
        """Whether serving can feed and fit it: its event input is one serving builds, and it
        neither pre-trains nor denoises (serving does neither)."""
        return self.events in SERVED_EVENT_INPUTS and not self.pretrain and not self.denoise

    @property
    def tutorial(self) -> bool:
        """One of the tutorials' recurrent and convolutional networks (not the TCN family)."""
        return self.encoder != "tcn"

    @property
    def fit_key(self) -> tuple[Any, ...]:
        """What decides its fits (inputs, network, fitting step): two entries with equal
        keys fit the same model for the same data, settings and seed."""
        return tuple(getattr(self, k) for k in PROTOCOL_FIELDS)

    def protocol_record(self) -> dict[str, Any]:
        """The fields the frozen protocol records for this model."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k in PROTOCOL_FIELDS}


HIGHWAY = 5  # the TCN family's linear path reads the prices of the last 5 days
# KDTCN's variants: how a day's events are pooled and which text channel stands beside them.
# The harness chooses one per target on validation folds inside the training period
# (evaluation.tune.select_variant) and the KDTCN row runs the one chosen; served versions read
# the choice from models/tuned.json. "KDTCN" itself is the 1/rank mean, the paper's pooling,
# which a run without the selection keeps.
KDTCN_VARIANTS = ("KDTCN (1/rank mean)", "KDTCN (attention)", "KDTCN+VADER")


def _tcn(events: str | None, tuned_from: str, **kw: Any) -> NeuralSpec:
    """A member of the TCN family reading prices through the highway."""
    return NeuralSpec("tcn", True, events, HIGHWAY, tuned_from=tuned_from, **kw)


NEURAL_MODELS: dict[str, NeuralSpec] = {
    "TCN": _tcn(None, "TCN"),
    "WB-TCN": _tcn("words", "KDTCN"),
    "EB-TCN": _tcn("events_nokg", "KDTCN"),
    "KDEB-TCN": NeuralSpec("tcn", False, "kg_events", tuned_from="KDTCN"),
    "KDTCN": _tcn("kg_events", "KDTCN", variants=KDTCN_VARIANTS),
    "KDTCN (1/rank mean)": _tcn("kg_events", "KDTCN"),
    "KDTCN w/o highway": NeuralSpec("tcn", True, "kg_events", tuned_from="KDTCN"),
    "KDTCN+VADER": _tcn("kg_events+vader", "KDTCN"),
    "KDTCN (attention)": _tcn("kg_event_sets", "KDTCN", event_slots=EVENT_SLOTS),
    "TCN (wavelet-denoised)": _tcn(None, "TCN", denoise=True),
    "TCN (pre-trained)": _tcn(None, "TCN", pretrain=True),
    "KDTCN (pre-trained)": _tcn("kg_events", "KDTCN", pretrain=True),
    "ST-TCN": _tcn("sentences", "KDTCN"),
    "VADER-TCN": _tcn("vader", "KDTCN"),
    "RNN": NeuralSpec("rnn", True, None),
    "LSTM": NeuralSpec("lstm", True, None),
    "Stacked LSTM": NeuralSpec("stacked_lstm", True, None),
    "GRU": NeuralSpec("gru", True, None),
    "BiLSTM": NeuralSpec("bilstm", True, None),
    "1-D CNN": NeuralSpec("cnn", True, None),
}
# Views of the zoo, for the tables that name models.
TUNED_FROM = {name: s.tuned_from for name, s in NEURAL_MODELS.items() if s.tuned_from}
SERVABLE = frozenset(name for name, s in NEURAL_MODELS.items() if s.servable)
TUTORIAL_NETS = tuple(name for name, s in NEURAL_MODELS.items() if s.tutorial)


def model_key(name: str) -> str:
    """The zoo's name for `name`, case-insensitive ("kdtcn" -> "KDTCN"); KeyError if none."""
    for candidate in NEURAL_MODELS:
        if candidate.lower() == name.lower():
            return candidate
    raise KeyError(name)
