"""Headline word-embedding input for the WB-TCN ablation: LSA fitted on the past only.

spaCy's small English pipeline ships no static word vectors, so the word channel is a
latent semantic analysis of the headlines: TF-IDF over uni- and bigrams, reduced by a
truncated SVD. Both are fitted on the training period's headlines only; a headline's vector
is its row of the reduced matrix, and a day's vector pools its headlines like events do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["HeadlineLSA"]


@dataclass
class HeadlineLSA:
    """TF-IDF + truncated SVD; `transform` gives (n_headlines, dim) float32 vectors."""

    dim: int = 64
    min_df: int = 3
    seed: int = 0

    def fit(self, train_texts: Sequence[str]) -> HeadlineLSA:
        """Fit TF-IDF (uni- and bigrams, English stop words dropped, terms of at least
        `min_df` headlines) and the `dim`-component SVD on the training headlines only."""
        self.vectorizer_ = TfidfVectorizer(
            min_df=self.min_df, ngram_range=(1, 2), sublinear_tf=True, stop_words="english"
        )
        matrix = self.vectorizer_.fit_transform(train_texts)
        self.svd_ = TruncatedSVD(n_components=self.dim, random_state=self.seed).fit(matrix)
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 vectors of headlines, with the fitted vocabulary."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        reduced = self.svd_.transform(self.vectorizer_.transform(texts))
        return reduced.astype(np.float32)
