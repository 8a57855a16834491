"""Every entry of the model zoo fits, predicts, saves and loads on a tiny series.

The contract each entry keeps, whatever its encoder and inputs: `models.fitting` fits it
(pre-trained on a price history when it asks, denoised when it asks) as a classifier and as
a regressor; its answers are probabilities (or finite values); saved and loaded through
`models.artifact`, it gives the same answers on the same windows; and it is servable exactly
when serving can feed its inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.artifact import SavedConfig, load_artifact, save_artifact
from models.features import PRICE_FEATURES
from models.fitting import Fitted, PriceHistory, fit_window_model, predict_days
from models.inputs import stack_events
from models.targets import get_target
from models.train import TrainConfig
from models.zoo import NEURAL_MODELS, SERVABLE, SERVED_EVENT_INPUTS, NeuralSpec

DAYS, WINDOW, DIM = 160, 10, 6
QUICK = TrainConfig(epochs=2, patience=1, batch_size=32)


def _series(seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Random-walk closes, their price feature rows, and every named event input."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, DAYS)))
    rows = rng.normal(size=(DAYS, len(PRICE_FEATURES))).astype(np.float32)
    counts = rng.integers(0, 5, DAYS)  # events a day
    sets = np.stack(
        [stack_events(rng.normal(size=(n, DIM)), rng.integers(1, 9, n)) for n in counts]
    )
    pooled = rng.normal(size=(DAYS, DIM)).astype(np.float32)
    vader = rng.normal(size=(DAYS, 2)).astype(np.float32)
    inputs = {
        "kg_events": pooled,
        "events_nokg": rng.normal(size=(DAYS, DIM)).astype(np.float32),
        "kg_event_sets": sets.astype(np.float32),
        "words": rng.normal(size=(DAYS, 5)).astype(np.float32),
        "sentences": rng.normal(size=(DAYS, 8)).astype(np.float32),
        "vader": vader,
        "kg_events+vader": np.hstack([pooled, vader]),
    }
    return close, rows, inputs


def _fit(spec: NeuralSpec, *, regress: bool) -> tuple[Fitted, np.ndarray, np.ndarray]:
    close, price_rows, inputs = _series()
    target = get_target("next_close" if regress else "next_day")
    labels = target.labels(close)
    train_days = np.arange(WINDOW + 1, 120)
    test_days = np.arange(120, DAYS)
    fit_rows = np.zeros(DAYS, bool)
    fit_rows[1:120] = True
    pretrain = None
    if spec.pretrain:
        history_close, history_rows, _ = _series(seed=1)
        history = PriceHistory(history_rows, history_close, "a", "b", epochs=1, batch_size=32)
        pretrain = (history, target.labels(history.close))
    fitted = fit_window_model(
        spec,
        price_rows,
        inputs.get(spec.events) if spec.events else None,
        labels,
        fit_rows,
        train_days,
        window=WINDOW,
        rule=target,
        train=QUICK,
        seed=0,
        denoise=spec.denoise,
        pretrain=None if regress else pretrain,
        values=target.values(close) if regress else None,
    )
    return fitted, test_days, predict_days(fitted, test_days)


@pytest.mark.parametrize("name", list(NEURAL_MODELS))
def test_every_zoo_entry_fits_predicts_saves_and_loads(name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = NEURAL_MODELS[name]
    fitted, test_days, p = _fit(spec, regress=False)
    assert p.shape == (len(test_days),) and np.all((p > 0) & (p < 1))
    saved = save_artifact(
        tmp_path / "v",
        networks=[fitted.network],
        config=SavedConfig(
            name,
            spec.encoder,
            "next_day",
            window=WINDOW,
            price_dim=fitted.network.price_dim,
            event_dim=fitted.network.event_dim,
            price_features=tuple(PRICE_FEATURES),
            highway=fitted.network.highway_steps,
            highway_form=fitted.network.highway_form,
            event_kind=spec.events,
            event_slots=spec.event_slots,
        ),
        price_norm=fitted.price_norm,
        event_norm=fitted.event_norm,
        metrics={},
    )
    served = load_artifact(saved)
    windows = fitted.windows.subset(np.isin(fitted.windows.day, test_days))
    order = np.argsort(windows.day)
    np.testing.assert_allclose(served.predict(windows.x[order]), p, rtol=1e-5, atol=1e-6)
    assert served.event_slots == spec.event_slots
    assert (name in SERVABLE) == (
        spec.events in SERVED_EVENT_INPUTS and not spec.pretrain and not spec.denoise
    )


@pytest.mark.parametrize("name", [n for n, s in NEURAL_MODELS.items() if not s.pretrain])
def test_every_zoo_entry_also_fits_as_a_regressor(name: str) -> None:
    _, test_days, values = _fit(NEURAL_MODELS[name], regress=True)
    assert values.shape == (len(test_days),) and np.all(np.isfinite(values))
    assert np.std(values) > 0  # a fitted regressor, not a constant
