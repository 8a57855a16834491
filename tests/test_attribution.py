"""Attribution pieces (models.attribution) on a small synthetic window: the batched
coalitions equal the served re-pooling, and Shapley values add up, are symmetric and give
nothing to a headline the window does not read."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
import torch

from models.attribution import Coalitions, deletion, shapley
from models.features import Normaliser
from models.inputs import DayEvents, event_rows, event_set_rows, set_normaliser
from models.networks import SequenceClassifier
from models.targets import get_target
from models.train import predict_proba
from models.windows import window_at

NEXT_DAY = get_target("next_day")

WINDOW, DIM, PRICE = 4, 6, 4


def _game(n_days: int = 5, per_day: int = 3, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    days = [
        DayEvents(
            date=dt.date(2016, 6, 1) + dt.timedelta(days=j),
            event_ids=list(range(j * per_day, (j + 1) * per_day)),
            ranks=list(rng.integers(1, 26, per_day)),
            vectors=rng.normal(size=(per_day, DIM)).astype(np.float32),
        )
        for j in range(n_days)
    ]
    rows = event_rows(days, DIM, leading=1)
    norm = Normaliser.fit(rng.normal(size=(50, DIM)).astype(np.float32))
    prices = rng.normal(size=(len(rows), PRICE)).astype(np.float32)
    torch.manual_seed(seed)
    net = SequenceClassifier(encoder="tcn", price_dim=PRICE, event_dim=DIM).eval()
    anchor = len(rows) - 1

    def window(raw: np.ndarray) -> np.ndarray:
        return window_at(prices, norm.transform(raw), anchor, WINDOW, NEXT_DAY)

    numbers = np.arange(len(rows), dtype=np.float32)[:, None]
    used = window_at(None, numbers, anchor, WINDOW, NEXT_DAY)[:, 0].astype(np.int64)
    coalitions = Coalitions(
        base_window=window(rows),
        rows_used=used,
        event_row=np.repeat(np.arange(n_days) + 1, per_day),
        weight=np.concatenate([1.0 / np.asarray(d.ranks, float) for d in days]),
        vectors=np.concatenate([d.vectors for d in days]),
        event_norm=norm,
        answer=lambda x: predict_proba(net, x.astype(np.float32)).astype(np.float64),
    )
    return days, rows, window, coalitions


def test_coalitions_equal_the_served_repooling() -> None:
    days, rows, window, coalitions = _game()
    np.testing.assert_allclose(coalitions.windows(np.ones(15))[0], window(rows), atol=1e-5)
    keep = np.ones(15)
    keep[[12, 14, 9]] = 0  # day 4: events 0 and 2; day 3: event 0
    expected = window(event_rows(days, DIM, leading=1, drop={4: (0, 2), 3: (0,)}))
    np.testing.assert_allclose(coalitions.windows(keep)[0], expected, atol=1e-5)
    keep[12:15] = 0  # a day without any event kept pools to zeros, as the served path
    expected = window(event_rows(days, DIM, leading=1, drop={4: (0, 1, 2), 3: (0,)}))
    np.testing.assert_allclose(coalitions.windows(keep)[0], expected, atol=1e-5)


def _set_game(slots: int, per_day: int, n_days: int):  # type: ignore[no-untyped-def]
    """Days of `per_day` events stacked in sets of `slots`, and their coalitions."""
    rng = np.random.default_rng(3)
    days = [
        DayEvents(
            date=dt.date(2016, 6, 1) + dt.timedelta(days=j),
            event_ids=list(range(j * per_day, (j + 1) * per_day)),
            ranks=[2, 1, 7, 2, 4],  # a tie: the first of rank 2 fills its slot first
            vectors=rng.normal(size=(per_day, DIM)).astype(np.float32),
        )
        for j in range(n_days)
    ]
    rows = event_set_rows(days, DIM, slots, leading=1)
    norm = set_normaliser(rows, slots)
    prices = rng.normal(size=(len(rows), PRICE)).astype(np.float32)
    anchor = len(rows) - 1

    def window(raw: np.ndarray) -> np.ndarray:
        return window_at(prices, norm.transform(raw), anchor, WINDOW, NEXT_DAY)

    numbers = np.arange(len(rows), dtype=np.float32)[:, None]
    coalitions = Coalitions(
        base_window=window(rows),
        rows_used=window_at(None, numbers, anchor, WINDOW, NEXT_DAY)[:, 0].astype(np.int64),
        event_row=np.repeat(np.arange(n_days) + 1, per_day),
        weight=np.concatenate([1.0 / np.asarray(d.ranks, float) for d in days]),
        vectors=np.concatenate([d.vectors for d in days]),
        event_norm=norm,
        answer=lambda x: x.sum(axis=(1, 2)),
        slots=slots,
    )
    return days, rows, window, coalitions


def test_set_coalitions_equal_the_served_restacking() -> None:
    """An attention network's inputs: each day's event set, re-stacked without the events
    left out (its slots refilled in order of rank, the priors re-weighted among those kept)."""
    slots, per_day, n_days = 3, 5, 5
    days, rows, window, coalitions = _set_game(slots, per_day, n_days)
    n = n_days * per_day
    np.testing.assert_allclose(coalitions.windows(np.ones(n))[0], window(rows), atol=1e-5)
    keep = np.ones(n)
    keep[[21, 23, 15 + 4]] = 0  # day 4: rank 1 and the second rank 2; day 3: rank 4
    expected = window(event_set_rows(days, DIM, slots, leading=1, drop={4: (1, 3), 3: (4,)}))
    assert not np.allclose(expected, window(rows))
    np.testing.assert_allclose(coalitions.windows(keep)[0], expected, atol=1e-5)
    keep[20:25] = 0  # a day without any event kept: every slot empty, as the served path
    expected = window(event_set_rows(days, DIM, slots, leading=1, drop={4: range(5), 3: (4,)}))
    np.testing.assert_allclose(coalitions.windows(keep)[0], expected, atol=1e-5)


@pytest.mark.parametrize("exact", [True, False])
def test_shapley_values_add_up_and_ignore_what_the_window_does_not_read(exact: bool) -> None:
    _, _, _, coalitions = _game()
    # 5 players: one per day; day 0's events (row 1) sit outside the 4-step window (rows 2..5)
    players = np.repeat(np.arange(5), 3)
    result = shapley(coalitions, players, permutations=8, exact=exact)
    # float32 networks: the sum holds to their precision
    assert np.sum(result.values) == pytest.approx(result.full - result.empty, abs=1e-6)
    # a null player: 0 up to float32 noise between batches
    assert result.values[0] == pytest.approx(0.0, abs=1e-7)
    assert result.occlusion[0] == pytest.approx(0.0, abs=1e-7)
    assert abs(result.full - result.empty) > 1e-4  # the events do move this answer
    assert (result.permutations is None) == exact


def test_sampled_shapley_approaches_the_exact_values() -> None:
    _, _, _, coalitions = _game(seed=3)
    players = np.repeat(np.arange(5), 3)
    exact = shapley(coalitions, players, exact=True).values
    sampled = shapley(coalitions, players, permutations=200, exact=False).values
    scale = np.abs(exact).max()
    assert np.abs(sampled - exact).max() < 0.15 * scale


def test_identical_players_get_identical_values_and_deletion_matches_occlusion() -> None:
    days, rows, window, coalitions = _game(n_days=3, per_day=2)
    # two identical events (same day, vector and rank) owned by two different players
    vectors, weight = coalitions.vectors.copy(), coalitions.weight.copy()
    vectors[5], weight[5] = vectors[4], weight[4]
    coalitions = dataclasses.replace(coalitions, vectors=vectors, weight=weight)
    players = np.array([0, 0, 1, 1, 2, 3])
    result = shapley(coalitions, players, exact=True)
    assert result.values[2] == pytest.approx(result.values[3], abs=1e-9)
    removed = deletion(coalitions, players, [[2], [0, 1]])
    assert removed[0] == pytest.approx(result.occlusion[2], abs=1e-7)
    assert removed[1] == pytest.approx(
        result.full - coalitions(np.r_[0, 0, 0, 0, 1, 1])[0], abs=1e-7
    )


def test_coalitions_pooled_by_the_networks_equal_their_stacked_windows() -> None:
    """Explanations of an attention version skip the stacked windows: each network scores
    every event once and pools any coalition from the scores. The answers equal those of the
    networks reading the re-stacked windows, with days fuller than their slots, days left
    empty and the empty coalition."""
    slots, per_day, n_days = 3, 5, 5
    _, rows, _, stacked = _set_game(slots, per_day, n_days)
    networks = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        net = SequenceClassifier(
            encoder="tcn", price_dim=PRICE, event_dim=rows.shape[1], event_slots=slots, highway=2
        )
        torch.nn.init.normal_(net.attend[2].weight, std=2.0)  # a trained scorer is not flat
        networks.append(net.eval())

    def combine(outputs: np.ndarray) -> np.ndarray:
        return torch.sigmoid(torch.from_numpy(outputs)).mean(dim=0).numpy()

    def answer(x: np.ndarray) -> np.ndarray:
        return np.mean([predict_proba(net, x.astype(np.float32)) for net in networks], axis=0)

    windows = dataclasses.replace(stacked, answer=answer)
    pooled = dataclasses.replace(stacked, answer=answer, networks=networks, combine=combine)
    rng = np.random.default_rng(0)
    keep = (rng.random((40, n_days * per_day)) < 0.6).astype(np.float32)
    keep[0], keep[1], keep[2, 20:] = 1.0, 0.0, 0.0
    expected = windows(keep)
    assert np.ptp(expected) > 1e-3  # the coalitions do move the answer
    np.testing.assert_allclose(pooled(keep), expected, atol=1e-6)
    # the scorer matters: with a flat scorer the answers differ
    for net in networks:
        torch.nn.init.zeros_(net.attend[2].weight)
    flat = dataclasses.replace(stacked, answer=answer, networks=networks, combine=combine)
    assert np.abs(flat(keep) - expected).max() > 1e-4
