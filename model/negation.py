"""The word a negation turns around, marked as a word of its own.

"petugas tidak ramah" and "petugasnya ramah" share "ramah": in a bag of words the praise word
pulls the complaint towards praise, and "bantuan tidak tepat sasaran" reads like the thanks for
aid that reached the right people. `NegationMarker` rewrites the word right after a negation
("tidak", "belum", "kurang", ...) as a marked word ("tidak neg_ramah"), the classic remedy in
sentiment analysis, so the model learns "neg_ramah" apart from "ramah". It runs on the stemmed
words of the word branch; the normaliser's output, which the character n-grams, the area
resolver and the repeat search read, stays as it was. The normaliser has already turned slang
negations ("gak", "dak", "blm") into these words.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

# Words that turn the next word around, as the normaliser and the stemmer leave them.
NEGATORS: tuple[str, ...] = ("tidak", "belum", "bukan", "kurang", "jangan", "tanpa", "tak")
# Words between a negation and the word it turns around: "tidak pernah mati", "tidak lagi
# banjir", "tidak begitu jelas". The negation marks them and the word after them.
PASSES: tuple[str, ...] = ("pernah", "lagi", "begitu", "terlalu", "juga", "pula")


class NegationMarker(TransformerMixin, BaseEstimator):
    """Marks the word after a negation with `prefix` in whitespace-separated text.

    A word is marked when the word before it is one of `negators` (default `NEGATORS`), unless
    it is a negation itself ("tidak tidak ..." marks the word after the second) or a placeholder
    token such as `_angka_`. When the marked word is one of `passes` (default `PASSES`: "pernah",
    "lagi", "begitu", ...), the word after it is marked too: "tidak pernah mati" reads "tidak
    neg_pernah neg_mati", so a post saying the water never goes off does not read "mati" as a
    complaint does. Stateless; `fit` only checks the parameters.
    """

    # what a step pickled before the parameter existed reads (its `get_params`, a refit)
    passes: tuple[str, ...] | None = None

    def __init__(
        self,
        negators: tuple[str, ...] | None = None,
        prefix: str = "neg_",
        passes: tuple[str, ...] | None = None,
    ) -> None:
        self.negators = negators
        self.prefix = prefix
        self.passes = passes

    def fit(self, X: Iterable[str], y: object = None) -> NegationMarker:
        if not self.prefix or any(c.isspace() for c in self.prefix):
            raise ValueError(f"prefix must be a non-empty word, got {self.prefix!r}")
        self.negators_ = word_set("negators", self.negators, NEGATORS)
        self.passes_ = word_set("passes", self.passes, PASSES) - self.negators_
        return self

    def marks(self, words: list[str]) -> list[int]:
        """Positions of `words` that `mark_text` marks."""
        negators = self.negators_
        # a step fitted before `passes` existed marks one word, as it was trained
        passes: frozenset[str] = getattr(self, "passes_", frozenset())

        def markable(word: str) -> bool:  # neither a negation nor a placeholder
            return word not in negators and word[:1] != "_"

        marked = []
        for i in range(1, len(words)):
            if words[i - 1] in negators and markable(words[i]):
                marked.append(i)
                if words[i] in passes and i + 1 < len(words) and markable(words[i + 1]):
                    marked.append(i + 1)
        return marked

    def mark_text(self, text: str) -> str:
        """`text`'s words joined by single spaces, each negated word marked."""
        words = text.split()
        for i in self.marks(words):
            words[i] = self.prefix + words[i]
        return " ".join(words)

    def transform(self, X: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "negators_")
        return np.array([self.mark_text(str(doc)) for doc in X], dtype=object)


def word_set(name: str, value: tuple[str, ...] | None, default: tuple[str, ...]) -> frozenset[str]:
    """A word-list parameter of a step (`default` when None) as a set; refused unless each item
    is a word."""
    words = default if value is None else value
    if isinstance(words, str) or any(not w or w.split() != [w] for w in words):
        raise ValueError(f"{name} must be a sequence of single words, got {words!r}")
    return frozenset(words)
