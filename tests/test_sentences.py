"""The sentence text channel: bundled MiniLM embeddings, their disk cache, VADER, day pooling."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from models.inputs import DEFAULT_RANK
from models.text.sentences import DIM, SentenceEncoder, daily_text_rows, vader_features

CRASH = "Markets crash as war fears grow"
PARAPHRASE = "Stock markets plunge on fears of war"
UNRELATED = "Local bakery wins award for its sourdough bread"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def test_encode_gives_normalised_vectors_and_paraphrases_are_closer(
    encoder: SentenceEncoder,
) -> None:
    vectors = encoder.encode([CRASH, PARAPHRASE, UNRELATED])
    assert vectors.shape == (3, DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cos = vectors @ vectors.T
    assert cos[0, 1] > 0.5
    assert cos[0, 1] > cos[0, 2] + 0.3
    assert cos[1, 0] > cos[1, 2] + 0.3
    assert encoder.encode([]).shape == (0, DIM)


def test_cache_returns_identical_vectors_without_encoding_again(
    encoder: SentenceEncoder, tmp_path: Path
) -> None:
    texts = [CRASH, UNRELATED, CRASH]
    before = encoder.n_encoded
    first = encoder.encode_cached(texts, tmp_path)
    assert encoder.n_encoded - before == 2  # the duplicate is encoded once
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_allclose(first, encoder.encode(texts), atol=1e-5)

    shards = list(tmp_path.glob(f"{encoder.model_key}-*.npz"))
    assert len(shards) == 1 and not list(tmp_path.glob(".*"))  # no temp file left
    with np.load(shards[0], allow_pickle=False) as data:
        assert data["hashes"].dtype == np.dtype("S64") and data["vectors"].shape == (2, DIM)

    # A new encoder (a second run) finds everything on disk: the model is never even loaded.
    fresh = SentenceEncoder()
    again = fresh.encode_cached(list(reversed(texts)), tmp_path)
    assert fresh.n_encoded == 0 and fresh._model is None
    np.testing.assert_array_equal(again, first[::-1])

    # Only the new text goes through the model; the old ones keep their stored vectors.
    fresh._model = encoder.model  # share the loaded weights instead of loading them twice
    mixed = fresh.encode_cached([PARAPHRASE, CRASH], tmp_path)
    assert fresh.n_encoded == 1
    np.testing.assert_array_equal(mixed[1], first[0])
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_vader_signs() -> None:
    scores = vader_features([CRASH, "Stocks rally on strong jobs report"])
    assert scores.shape == (2, 4) and scores.dtype == np.float32
    assert scores[0, 3] < 0 < scores[1, 3]
    np.testing.assert_allclose(scores[:, :3].sum(axis=1), 1.0, atol=0.01)  # neg+neu+pos


def test_daily_text_rows_weekend_to_monday_and_max_rank() -> None:
    fri, sat, sun, mon, tue = (dt.date(2016, 6, d) for d in (24, 25, 26, 27, 28))
    trading = [fri, mon, tue]
    dates = [fri, sat, sun, mon, dt.date(2016, 6, 29)]
    ranks = [1, 1, 20, None, 1]
    vectors = np.array([[1, 0], [0, 1], [0, 3], [3, 3], [9, 9]], dtype=np.float32)

    rows = daily_text_rows(dates, ranks, vectors, trading)
    assert rows.shape == (3, 2) and rows.dtype == np.float32
    np.testing.assert_allclose(rows[0], [1, 0])
    w = np.array([1 / 1, 1 / 20, 1 / DEFAULT_RANK])  # Monday: Sat, Sun and its own (rank None)
    expected = (w[:, None] * vectors[1:4]).sum(axis=0) / w.sum()
    np.testing.assert_allclose(rows[1], expected, rtol=1e-6)
    np.testing.assert_array_equal(rows[2], [0, 0])  # no headline; the 29th is past the end

    top = daily_text_rows(dates, ranks, vectors, trading, max_rank=10)
    np.testing.assert_allclose(top[0], [1, 0])
    np.testing.assert_allclose(top[1], [0, 1])  # only Saturday's rank-1 headline is left
    np.testing.assert_array_equal(top[2], [0, 0])

    none = daily_text_rows([], [], np.zeros((0, 4), np.float32), trading)
    assert none.shape == (3, 4) and not none.any()
