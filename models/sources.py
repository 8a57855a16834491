"""A run of trading days' model inputs, read from named sources, and the windows cut from it.

Training (a symbol's whole series), serving (the bars and news one answer may read), the
backtest (a range of days) and explanation (the same answer with events left out) all hold
their inputs as one `Inputs` and cut windows through `Inputs.windows`, so a day's window is
built by one piece of code whichever path asks for it.

Sources, by the names the zoo uses (models.zoo.NeuralSpec):
* prices: raw daily price feature rows (models.features), one per trading day of `dates`;
* events ("kg_events"): each news day's KG-linked event embeddings pooled by 1/rank;
* event sets ("kg_event_sets"): the same days' events as sets of `slots` vectors, pooled by
  the network's attention.
Event rows stand beside the price rows after `leading` rows of zeros (see
models.targets.Target.leading_event_rows): a serving window reads the news of the days after
its first bar, and a shifted target also the asked date's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.features import Normaliser
from models.inputs import DayEvents, model_event_rows
from models.targets import Target
from models.windows import windows_at

__all__ = ["Inputs"]


@dataclass
class Inputs:
    """Raw inputs of consecutive trading days (rows in date order)."""

    dates: list[dt.date]  # the trading days whose bars are read: one price row each
    price_rows: np.ndarray  # raw (unnormalised) price features, (len(dates), P)
    days: list[DayEvents] | None = None  # the news days read (None: a price-only input)
    event_dim: int = 0
    leading: int = 0  # zero event rows before the first of `days`
    _rows: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def event_rows(
        self, slots: int = 0, *, drop: Mapping[int, Collection[int]] | None = None
    ) -> np.ndarray | None:
        """The days' event rows: pooled by 1/rank, or with `slots` > 0 as event sets; `drop`
        leaves events out ({position in `days`: positions of its events}). Built once per
        `slots` when nothing is dropped."""
        if self.days is None:
            return None
        if drop:
            return model_event_rows(
                self.days, self.event_dim, slots, leading=self.leading, drop=drop
            )
        if slots not in self._rows:
            self._rows[slots] = model_event_rows(
                self.days, self.event_dim, slots, leading=self.leading
            )
        return self._rows[slots]

    def windows(
        self,
        anchors: Sequence[int],
        *,
        window: int,
        rule: Target,
        price_norm: Normaliser | None,
        event_norm: Normaliser | None,
        slots: int = 0,
        drop: Mapping[int, Collection[int]] | None = None,
    ) -> np.ndarray:
        """The normalised windows anchored on rows `anchors` (the last bar each reads), as a
        model with these normalisers reads them: prices when it has a price normaliser,
        event rows (or sets) when it has an event normaliser; (len(anchors), W, F)."""
        p = price_norm.transform(self.price_rows) if price_norm is not None else None
        rows = self.event_rows(slots, drop=drop) if event_norm is not None else None
        e = event_norm.transform(rows) if event_norm is not None and rows is not None else None
        return windows_at(p, e, np.asarray(anchors, np.int64), window, rule)
