"""A post's opening words as features of their own.

The first words of a post say what it is for: "terima kasih ...", "mau tanya ...", "info ...",
"tolong ...", "kapan ...". In one bag of words they weigh no more than the service words that
follow, so a thank-you that names the waste office reads as a waste complaint. `LeadingWords`
turns normalised text into its first few words, marked ("awal_terima awal_kasih"), for a feature
branch of their own; the normaliser's output, which the area resolver and the repeat search
read, stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from model.text import EMOJI_TOKENS, MENTION_TOKEN, URL_TOKEN

# Tokens that carry no intent: the opening "@akun" or link is skipped, and the word after it read.
_SKIPPED = frozenset({MENTION_TOKEN, URL_TOKEN}) | EMOJI_TOKENS


class LeadingWords(TransformerMixin, BaseEstimator):
    """The first `n_words` words of normalised text, each prefixed with `marker`.

    Mentions, links and emoji are passed over. Stateless; `fit` only records the input width.
    """

    def __init__(self, n_words: int = 2, marker: str = "awal_") -> None:
        self.n_words = n_words
        self.marker = marker

    def fit(self, X: Iterable[str], y: object = None) -> LeadingWords:
        if not isinstance(self.n_words, int) or self.n_words < 1:
            raise ValueError(f"n_words must be a positive int, got {self.n_words!r}")
        if not self.marker or any(c.isspace() for c in self.marker):
            raise ValueError(f"marker must be a non-empty word, got {self.marker!r}")
        self.n_features_in_ = 1
        return self

    def lead_text(self, text: str) -> str:
        """`text`'s first words, marked and joined by single spaces ("" for no words)."""
        marker, out = self.marker, []
        # the first words alone, unless one of them is skipped (most posts: no whole split)
        first = text.split(maxsplit=self.n_words)[: self.n_words]
        if _SKIPPED.isdisjoint(first):
            return " ".join([marker + token for token in first])
        for token in text.split():
            if token in _SKIPPED:
                continue
            out.append(marker + token)
            if len(out) == self.n_words:
                break
        return " ".join(out)

    def transform(self, X: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        return np.array([self.lead_text(str(doc)) for doc in X], dtype=object)
