"""Unit tests of the networks: causality, receptive fields and horizons, seed ensembles saved
and served, attention pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.artifact import for_inference
from models.features import Normaliser
from models.inputs import (
    pool_events,
    stack_events,
)
from models.networks import ENCODERS, NetParams, SequenceClassifier
from models.tcn import TemporalConvNet, receptive_field


def test_tcn_is_causal() -> None:
    torch.manual_seed(0)
    net = TemporalConvNet(3, [8, 8, 8], kernel_size=3).eval()
    x = torch.randn(2, 3, 30)
    changed = x.clone()
    changed[:, :, 17:] = torch.randn(2, 3, 13) * 10
    with torch.no_grad():
        a, b = net(x), net(changed)
    assert torch.allclose(a[:, :, :17], b[:, :, :17], atol=1e-6)
    assert not torch.allclose(a[:, :, 17:], b[:, :, 17:])


def test_receptive_field_matches_the_network() -> None:
    torch.manual_seed(0)
    net = TemporalConvNet(2, [8, 8, 8], kernel_size=3).eval()
    rf = receptive_field(3, 3)
    assert rf == net.receptive_field == 29
    x = torch.randn(16, 2, 60, requires_grad=True)
    net(x)[:, :, -1].sum().backward()
    reach = x.grad.abs().sum(dim=(0, 1))
    assert torch.all(reach[: 60 - rf] == 0)  # outside the field: no influence
    assert torch.all(reach[60 - rf :] > 0)  # inside: every step counts


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_every_encoder_reads_only_the_past_window(encoder: str) -> None:
    torch.manual_seed(0)
    net = SequenceClassifier(encoder=encoder, price_dim=5, event_dim=12).eval()
    out = net(torch.randn(4, 20, 17))
    assert out.shape == (4,) and torch.isfinite(out).all()


@pytest.mark.parametrize(
    ("n_in", "levels", "kernel", "steps"), [(8, 2, 3, 13), (5, 3, 2, 20), (6, 1, 3, 9)]
)
def test_the_unpadded_last_step_equals_the_full_forward_pass(
    n_in: int, levels: int, kernel: int, steps: int
) -> None:
    """TemporalConvNet.forward_last (eval: unpadded blocks over the receptive field) gives
    forward(x)[:, :, -1], with weight norms parametrised and folded as served; in training
    and on windows shorter than the receptive field it is the full pass."""
    torch.manual_seed(1)
    tcn = TemporalConvNet(n_in, [6] * levels, kernel_size=kernel).eval()
    x = torch.randn(7, n_in, steps)
    with torch.no_grad():
        full = tcn.forward(x)[:, :, -1]
        torch.testing.assert_close(tcn.forward_last(x), full, atol=1e-6, rtol=1e-5)
        short = x[:, :, -(tcn.receptive_field - 1) :]
        torch.testing.assert_close(tcn.forward_last(short), tcn.forward(short)[:, :, -1])
        for_inference(tcn)
        torch.testing.assert_close(tcn.forward_last(x), full, atol=1e-6, rtol=1e-5)
        tcn.train()
        torch.manual_seed(2)
        dropped = tcn.forward_last(x)  # training: the padded pass, with dropout
        assert dropped.shape == full.shape and not torch.allclose(dropped, full)


@pytest.mark.parametrize("levels", [1, 2])
def test_a_tcn_answer_reads_only_its_horizon(levels: int) -> None:
    """The steps before a TCN's horizon (its receptive field, at least the linear path's
    steps) cannot change its output: cropping the window to it gives the same output, and
    changing an earlier step changes nothing. Attribution relies on it."""
    torch.manual_seed(0)
    net = SequenceClassifier(
        encoder="tcn", price_dim=3, event_dim=5, params=NetParams(levels=levels), highway=4
    ).eval()
    horizon = net.horizon
    assert horizon is not None and horizon < 20
    x = torch.randn(8, 20, 8)
    with torch.no_grad():
        full = net(x)
        torch.testing.assert_close(net(x[:, -horizon:]), full, atol=1e-6, rtol=1e-5)
        earlier = x.clone()
        earlier[:, : 20 - horizon] = torch.randn(8, 20 - horizon, 8) * 10
        torch.testing.assert_close(net(earlier), full, atol=1e-6, rtol=1e-5)
        later = x.clone()
        later[:, 20 - horizon] += 5.0
        assert not torch.allclose(net(later), full, atol=1e-4)
    assert SequenceClassifier(encoder="lstm", price_dim=3, event_dim=0).horizon is None


def test_a_seed_ensemble_round_trips_and_serves_the_mean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from models.artifact import SavedConfig, load_artifact, save_artifact
    from models.train import predict_proba

    nets = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        nets.append(SequenceClassifier(encoder="tcn", price_dim=5, event_dim=0).eval())
    norm = Normaliser(np.zeros(5, np.float32), np.ones(5, np.float32))
    path = save_artifact(
        tmp_path / "v1",
        networks=nets,
        config=SavedConfig("TCN", "tcn", "next_day", window=20, price_dim=5, event_dim=0),
        price_norm=norm,
        event_norm=None,
        metrics={},
    )
    served = load_artifact(path)
    x = np.random.default_rng(0).normal(size=(8, 20, 5)).astype(np.float32)
    each = [predict_proba(net, x) for net in nets]
    assert len(served.networks) == 2 and not np.allclose(each[0], each[1])
    np.testing.assert_allclose(served.predict(x), (each[0] + each[1]) / 2, atol=1e-6)


def test_attention_pooling_starts_as_the_rank_mean_and_learns() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    days = [rng.normal(size=(n, 6)).astype(np.float32) for n in (4, 0, 7)]
    ranks = [list(rng.permutation(n) + 1) for n in (4, 0, 7)]
    rows = np.stack([stack_events(v, r, 8) for v, r in zip(days, ranks, strict=True)])
    x = torch.from_numpy(np.concatenate([np.zeros((3, 2), np.float32), rows], 1))[None]
    net = SequenceClassifier(encoder="tcn", price_dim=2, event_dim=rows.shape[1], event_slots=8)
    pooled, weights = net.attention(x)
    for j, (v, r) in enumerate(zip(days, ranks, strict=True)):
        np.testing.assert_allclose(pooled[0, j].detach().numpy(), pool_events(v, r), atol=1e-5)
    assert float(weights[0, 0, 4:].detach().sum()) < 1e-9  # empty slots get nothing
    assert float(pooled[0, 1].detach().abs().sum()) == 0.0  # a day without events: zeros
    net(x).sum().backward()
    assert net.attend is not None and float(net.attend[2].weight.grad.abs().sum()) > 0
