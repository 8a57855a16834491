"""What each headline of a window did to an answer: Shapley values, occlusion, deletion.

A served answer reads, per trading day of its window, one pooled event row: the rank-weighted
mean of the vectors of that day's events (models.inputs.pool_events), normalised with the
version's statistics; or, for a network that pools by attention, the day's event set (its
most popular events with their 1/rank priors, models.inputs.stack_events). Leaving a set
of events out re-pools (or re-stacks) their days without them.
`Coalitions` does that for a whole batch of coalitions at once: an (n, E) 0/1 mask over the
window's events gives n model inputs, so attribution costs a few matrix products and one
batched forward pass instead of a Python loop per variant. For an attention network it skips
the stacked inputs and pools in each network's attention space (see `Coalitions`).

The players are the window's headlines that yielded events (a headline without events does
not change the input, so its Shapley value is exactly 0). Removing a headline removes all of
its events together.

* `shapley`: Shapley values of the answer over those headlines. Exact (captum's
  `ShapleyValues`, every order of the players) when there are at most `EXACT_MAX_PLAYERS`;
  otherwise permutation sampling with antithetic pairs (each random order is walked forwards
  and backwards; Mitchell et al., "Sampling permutations for Shapley value estimation", JMLR
  2022): every walked order's marginal contributions add up to f(all) - f(none), so the
  estimates add up exactly whatever the number of orders, and the spread over orders gives
  each value's standard error. Written here rather than with captum's
  `ShapleyValueSampling`, which has neither antithetic orders nor standard errors, and whose
  perturbation bookkeeping took 0.9 s of a 3.4 s explanation with 670 headlines; the tests
  check this sampler against captum's exact values.
* `occlusion`: f(all) - f(all without the player), one player at a time.
* `deletion`: f(all) - f(all without a set of players): the deletion curve of a ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from models.features import Normaliser
from models.inputs import NO_EVENT

if TYPE_CHECKING:
    from models.networks import SequenceClassifier

__all__ = ["Coalitions", "EXACT_MAX_PLAYERS", "ShapleyResult", "deletion", "shapley"]

# exact values up to this many players: captum's ShapleyValues walks all n! orders
EXACT_MAX_PLAYERS = 5


@dataclass
class Coalitions:
    """The answer of a model for any coalition of the window's events.

    `base_window` (W, F) is the input with every event; its last D columns are the event
    rows. `rows_used[w]` is the pooled event row that window step w reads (an index into
    the rows that `event_row` refers to). Events: `event_row` (E,) the row each belongs to,
    `weight` (E,) its pooling weight before normalisation (1 / rank), `vectors` (E, D).
    `event_norm` normalises pooled rows as the version does (models.features.Normaliser);
    `answer` maps a batch of inputs (n, W, F) to the reported answer (n,). With `slots` > 0
    the rows are event sets (models.inputs.stack_events) of that many slots: a step's kept
    events fill the slots in order of rank, and the priors are re-weighted among them.

    Event sets with the `networks` that read them (and `combine`, their raw outputs
    (networks, n) to the answer, as `answer` does from windows): coalitions skip the
    stacked windows (slots x (d + 1) columns a step) and pool in each network's attention
    space. An event's score depends on its own vector only, so each network scores every
    event once; a coalition's pooled vector is the softmax over its placed events' scores
    plus their re-weighted priors, and over the empty slots (attend(0) + NO_EVENT), exactly
    what `SequenceClassifier.attention` computes from the stacked window.
    """

    base_window: np.ndarray
    rows_used: np.ndarray
    event_row: np.ndarray
    weight: np.ndarray
    vectors: np.ndarray
    event_norm: Normaliser
    answer: Callable[[np.ndarray], np.ndarray]
    slots: int = 0
    networks: Sequence[SequenceClassifier] = ()
    combine: Callable[[np.ndarray], np.ndarray] | None = None

    def __post_init__(self) -> None:
        """Sort the events by row and precompute each window step's events as tensors."""
        # Pooling runs in torch, in the thread pool the network runs in: numpy's BLAS
        # threads, still spinning after a product, slowed the network's convolutions 2x.
        # Events are kept sorted by their row, so a step's events are one slice of the mask
        # (for event sets, by rank within a row: the order the slots are filled in).
        if self.slots:
            self._set_up_sets()
            return
        self._order = torch.from_numpy(np.argsort(self.event_row, kind="stable"))
        rows = self.event_row[self._order.numpy()]
        weight = torch.from_numpy(self.weight.astype(np.float32))[self._order]
        vectors = torch.from_numpy(np.ascontiguousarray(self.vectors, np.float32))[self._order]
        # Normaliser.transform folded in: (pooled - mean) / std = pooled / std - mean / std,
        # so the steps pool vectors divided by std (pooled rows are finite).
        std = torch.from_numpy(np.asarray(self.event_norm.std, np.float32))
        self._shift = torch.from_numpy(np.asarray(self.event_norm.mean, np.float32)) / std
        vectors = vectors / std
        # per window step: (slice of the sorted events, weights, vectors)
        self._steps: list[tuple[slice, torch.Tensor, torch.Tensor]] = []
        for row in self.rows_used:
            a, b = np.searchsorted(rows, row, "left"), np.searchsorted(rows, row, "right")
            self._steps.append((slice(int(a), int(b)), weight[a:b], vectors[a:b]))
        self._dim = vectors.shape[1]
        self._base = torch.from_numpy(np.ascontiguousarray(self.base_window, np.float32))

    def _set_up_sets(self) -> None:
        order = np.lexsort((-self.weight, self.event_row))  # stable: rank ties keep their order
        self._order = torch.from_numpy(order)
        rows = self.event_row[order]
        self._dim = self.vectors.shape[1]
        cell = self._dim + 1
        if len(self.event_norm.mean) != self.slots * cell:
            raise ValueError(f"event sets of {self.slots} slots of {cell} columns expected")
        mean = torch.from_numpy(np.asarray(self.event_norm.mean[: self._dim], np.float32))
        std = torch.from_numpy(np.asarray(self.event_norm.std[: self._dim], np.float32))
        vectors = torch.from_numpy(np.ascontiguousarray(self.vectors, np.float32))[self._order]
        weight = torch.from_numpy(self.weight.astype(np.float32))[self._order]
        self._empty = -mean / std  # a slot without an event: the normalised zero vector
        # per window step: (slice, weights, log-weights, normalised vectors)
        self._sets: list[tuple[slice, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        for row in self.rows_used:
            a, b = np.searchsorted(rows, row, "left"), np.searchsorted(rows, row, "right")
            self._sets.append(
                (slice(int(a), int(b)), weight[a:b], weight[a:b].log(), (vectors[a:b] - mean) / std)
            )
        self._base = torch.from_numpy(np.ascontiguousarray(self.base_window, np.float32))
        if not self.networks:
            return
        if self.combine is None:
            raise ValueError("coalitions pooled by the networks need `combine`")
        self._prices = self._base[:, : self.networks[0].price_dim]
        # The steps' events laid end to end (a row read by two steps appears twice): the
        # coalition's mask is gathered once and pooled with a few whole-batch operations.
        spans = [step[0] for step in self._sets]
        self._gather = self._order[torch.cat([torch.arange(x.start, x.stop) for x in spans])]
        lengths = torch.tensor([x.stop - x.start for x in spans])
        self._step_of = torch.repeat_interleave(torch.arange(len(spans)), lengths)
        # (G, steps) 0/1: which step each gathered event belongs to; a product with it sums
        # per step (faster than index_add_ on these sizes)
        self._in_step = torch.nn.functional.one_hot(self._step_of, len(spans)).float()
        ends = lengths.cumsum(0)
        self._starts = ends - lengths  # where each step's events begin in the gathered order
        self._bounds = list(zip(self._starts.tolist(), ends.tolist(), strict=True))
        self._g_weight = torch.cat([step[1] for step in self._sets])
        self._g_log_weight = torch.cat([step[2] for step in self._sets])
        self._g_vectors = torch.cat([step[3] for step in self._sets])
        self._attention = []  # per network: scores minus their step's top, an empty slot's term
        with torch.inference_mode():
            for net in self.networks:
                scores = net.event_scores(self._g_vectors)
                empty = net.event_scores(torch.zeros(self._dim)) + NO_EVENT
                # softmax is unchanged by a shift within a step: shifting by the step's top
                # score (its prior log-weights are <= 0) keeps exp from overflowing
                top = torch.stack(
                    [torch.cat([scores[a:b], empty[None]]).max() for a, b in self._bounds]
                )
                self._attention.append((scores - top[self._step_of], torch.exp(empty - top)))

    def _pooled_answers(self, keep: np.ndarray) -> np.ndarray:
        """The answer for each coalition (rows of `keep`), pooled by the networks'
        attention from the events' scores (see the class docstring)."""
        mask = torch.from_numpy(np.atleast_2d(np.asarray(keep, np.float32)))
        kept = (mask.index_select(1, self._gather) > 0).float()  # (n, G) 0/1
        n, per_step = kept.shape[0], self._in_step

        def by_event(values: torch.Tensor) -> torch.Tensor:  # (n, steps) -> (n, G)
            return values.index_select(1, self._step_of)

        # a step's kept events fill its slots in order of rank: the first `slots` are placed
        # (counts in float32 are exact integers at these sizes)
        counts = torch.cat([torch.zeros(n, 1), kept.cumsum(dim=1)], dim=1)
        before = counts.index_select(1, self._starts)  # (n, steps): kept before each step
        placed = kept * (counts[:, 1:] - by_event(before) <= self.slots)
        total = ((placed * self._g_weight) @ per_step).clamp_min(1e-30).log()
        log_prior = self._g_log_weight - by_event(total)  # priors re-weighted among the placed
        empty = self.slots - placed @ per_step  # (n, steps)
        prices = self._prices.expand(n, *self._prices.shape)
        outputs = []
        for net, (scores, empty_term) in zip(self.networks, self._attention, strict=True):
            # scores <= 0 after the shift, and a prior log-weight <= -log(1e-30) = 69: the
            # exp of an event not placed stays finite, and the product zeroes it
            weights = torch.exp(scores + log_prior) * placed
            z = weights @ per_step + empty * empty_term
            pooled = torch.stack(
                [weights[:, a:b] @ self._g_vectors[a:b] for a, b in self._bounds], dim=1
            )  # a step without any event placed pools to 0
            outputs.append(net.forward_pooled(prices, pooled / z.clamp_min(1e-30).unsqueeze(-1)))
        assert self.combine is not None
        return self.combine(torch.stack(outputs).numpy())

    def _set_windows(self, mask: torch.Tensor) -> np.ndarray:
        n, dim, slots = mask.shape[0], self._dim, self.slots
        out = self._base.expand(n, *self._base.shape).clone()
        cells = out[:, :, -slots * (dim + 1) :].unflatten(-1, (slots, dim + 1))  # a view
        cells[..., :dim] = self._empty
        cells[..., dim] = NO_EVENT
        for step, (events, weight, log_weight, vectors) in enumerate(self._sets):
            if events.stop == events.start:
                continue
            kept = mask[:, events] > 0  # (n, m), the step's events in order of rank
            position = kept.cumsum(dim=1) - 1
            placed = kept & (position < slots)
            total = (placed * weight).sum(dim=1).clamp_min(1e-30).log()
            r, e = placed.nonzero(as_tuple=True)
            cells[r, step, position[r, e], :dim] = vectors[e]
            cells[r, step, position[r, e], dim] = log_weight[e] - total[r]
        return out.numpy()

    @property
    def n_events(self) -> int:
        """E, the number of events of the window (the columns of a coalition mask)."""
        return len(self.event_row)

    def windows(self, keep: np.ndarray) -> np.ndarray:
        """(n, W, F) inputs for an (n, E) mask of the events kept (1) or left out (0)."""
        mask = torch.from_numpy(np.atleast_2d(np.asarray(keep, np.float32)))[:, self._order]
        if self.slots:
            return self._set_windows(mask)
        n, dim = mask.shape[0], self._dim
        out = self._base.expand(n, *self._base.shape).clone()
        rows = out[:, :, -dim:]  # a view: the event columns of every window
        rows[:] = -self._shift  # no event kept: the normalised zero row
        for step, (events, weight, vectors) in enumerate(self._steps):
            if events.stop > events.start:
                w = mask[:, events] * weight  # (n, m)
                total = w.sum(dim=1, keepdim=True).clamp_min(1e-30)
                rows[:, step] += (w @ vectors) / total
        return out.numpy()

    def __call__(self, keep: np.ndarray) -> np.ndarray:
        """The answer for each coalition of events (rows of `keep`)."""
        if self.slots and self.networks:
            with torch.inference_mode():
                return np.asarray(self._pooled_answers(keep), np.float64)
        return np.asarray(self.answer(self.windows(keep)), np.float64)


@dataclass
class ShapleyResult:
    """What `shapley` found: a value per player (H players) with its standard error, the
    answers with every player and with none, each player's occlusion, and how the values
    were computed (`estimator`, `permutations`)."""

    values: np.ndarray  # (H,) one per player
    std_error: np.ndarray  # (H,) of each sampled value over the walked orders (0 when exact)
    full: float  # f(every player)
    empty: float  # f(no player)
    occlusion: np.ndarray  # (H,) f(all) - f(all without the player)
    estimator: str
    permutations: int | None  # walked orders; None: exact


def _captum_exact(forward: Callable[[np.ndarray], np.ndarray], n_players: int) -> np.ndarray:
    from captum.attr import ShapleyValues

    def run(mask: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(forward(mask.detach().numpy()))

    values = ShapleyValues(run).attribute(
        torch.ones(1, n_players, dtype=torch.float64),
        baselines=torch.zeros(1, n_players, dtype=torch.float64),
        perturbations_per_eval=n_players + 1,
    )
    return values.detach().numpy()[0].astype(np.float64)


def _sampled(
    forward: Callable[[np.ndarray], np.ndarray], n_players: int, pairs: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the marginal contributions over `pairs` random orders,
    each walked forwards and backwards (one batch of n_players + 1 coalitions per walk)."""
    rng = np.random.default_rng(seed)
    walks = []
    for _ in range(pairs):
        order = rng.permutation(n_players)
        walks.extend([order, order[::-1]])
    contributions = np.empty((len(walks), n_players))
    steps = np.tril(np.ones((n_players + 1, n_players), np.float32), k=-1)  # row k: first k in
    for w, order in enumerate(walks):
        masks = np.empty_like(steps)
        masks[:, order] = steps
        out = forward(masks)
        contributions[w, order] = np.diff(out)
    # an antithetic pair is one draw: the standard error is over pair means
    pair_means = contributions.reshape(pairs, 2, n_players).mean(axis=1)
    std_error = (
        pair_means.std(axis=0, ddof=1) / np.sqrt(pairs) if pairs > 1 else np.full(n_players, np.nan)
    )
    return contributions.mean(axis=0), std_error


def shapley(
    coalitions: Coalitions,
    players: Sequence[int],
    *,
    permutations: int = 8,
    seed: int = 0,
    exact: bool | None = None,
) -> ShapleyResult:
    """Shapley values of `coalitions`' answer over players (`players[e]`: the player, 0..H-1,
    owning event e; a player's events leave together). `permutations`: orders walked when
    sampling (rounded up to an even number: antithetic pairs). `exact`: enumerate every
    order (default: when there are at most EXACT_MAX_PLAYERS players). See the module
    docstring."""
    owner = np.asarray(players, np.int64)
    n_players = int(owner.max()) + 1 if len(owner) else 0

    def forward(mask: np.ndarray) -> np.ndarray:
        """The answer for (n, H) masks of the players kept."""
        return coalitions(np.asarray(mask, np.float32)[:, owner])

    if n_players == 0:
        f = float(coalitions(np.ones((1, 0)))[0])
        return ShapleyResult(np.zeros(0), np.zeros(0), f, f, np.zeros(0), "no players", None)
    exact = n_players <= EXACT_MAX_PLAYERS if exact is None else exact
    pairs = max(1, (permutations + 1) // 2)
    if exact:
        values, std_error = _captum_exact(forward, n_players), np.zeros(n_players)
        estimator = "exact Shapley values (captum ShapleyValues, every order of the players)"
    else:
        values, std_error = _sampled(forward, n_players, pairs, seed)
        estimator = (
            f"permutation sampling: {pairs} random orders of the players, each walked forwards "
            "and backwards (antithetic)"
        )
    batch = np.vstack([np.ones(n_players), np.zeros(n_players), 1.0 - np.eye(n_players)])
    answers = forward(batch)
    return ShapleyResult(
        values=values,
        std_error=std_error,
        full=float(answers[0]),
        empty=float(answers[1]),
        occlusion=answers[0] - answers[2:],
        estimator=estimator,
        permutations=None if exact else 2 * pairs,
    )


def deletion(
    coalitions: Coalitions, players: Sequence[int], removed: Sequence[Sequence[int]]
) -> np.ndarray:
    """f(all) - f(all without the players of each set in `removed`)."""
    owner = np.asarray(players, np.int64)
    keep = np.ones((len(removed) + 1, len(owner)))
    for i, gone in enumerate(removed, start=1):
        keep[i, np.isin(owner, list(gone))] = 0.0
    answers = coalitions(keep)
    return answers[0] - answers[1:]
