"""Sastrawi stemming behind a bounded cache.

PySastrawi's own `CachedStemmer` keeps every word it has ever seen, which in a long-running server
is a slow memory leak. This step calls the uncached stemmer through an LRU cache of fixed size,
and neither the stemmer nor its cache is pickled into the model artifact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from functools import cache, lru_cache
from importlib import resources

import numpy as np
from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from model.text import dictionary_words


class SharedDictionary(ArrayDictionary):
    """A read-only Sastrawi dictionary over a set it does not copy (Sastrawi's own
    `ArrayDictionary` keeps its words in a dict of its own; its stemmer only asks `contains`)."""

    def __init__(self, words: frozenset[str]) -> None:
        super().__init__()
        self._shared = words

    def contains(self, word: str) -> bool:
        return word in self._shared

    def count(self) -> int:
        return len(self._shared)

    def add(self, word: str) -> None:
        raise TypeError("this dictionary is read-only")


def stemmer_words() -> frozenset[str]:
    """The words of the stemmer's dictionary: exactly what Sastrawi's factory reads (every
    non-blank line, as `ArrayDictionary.add` keeps them), held as the strings of
    `dictionary_words()`, not a second copy of ~30,000 of them."""
    roots = dictionary_words()
    listed = {w for w in StemmerFactory().get_words() if w.strip()}
    if listed == roots:  # the shipped list: every line a stripped word of two letters or more
        return roots
    # lines the normaliser's set leaves out (one letter, spaces round them) come in as read
    return frozenset([*(w for w in roots if w in listed), *(listed - roots)])


@cache
def _sastrawi() -> Stemmer:
    """One uncached Sastrawi stemmer per process."""
    return Stemmer(SharedDictionary(stemmer_words()))


@lru_cache(maxsize=20_000)
def is_indonesian_word(token: str) -> bool:
    """A dictionary root word, or an affixed form of one ("meninggal" -> "tinggal")."""
    words = dictionary_words()
    if token in words:
        return True
    stem = _sastrawi().stem_word(token)
    return stem != token and stem in words


def _is_stemmable(token: str) -> bool:
    return len(token) > 3 and token.isalpha()


# Conjunctions of time Sastrawi strips to another word: "sebelum" (before) to "belum" (not yet),
# which the negation step then reads as a negation of the next word ("sebelum hujan" -> "belum
# neg_hujan"); "setelah" and "sesudah" (after) to "telah" and "sudah" (already), the words of a
# fault that is over. They are left as written.
KEEP_WHOLE: tuple[str, ...] = (
    "sebelum",
    "sebelumnya",
    "setelah",
    "setelahnya",
    "sesudah",
    "sesudahnya",
)


# Endings Sastrawi takes off before anything else: a form of `stem_fixes()` with one of them
# ("pemadamnya", "bersihkanlah") gets the form's root.
PARTICLES: tuple[str, ...] = ("nya", "lah", "kah", "pun", "ku", "mu")


@cache
def stem_fixes() -> dict[str, str]:
    """Affixed words Sastrawi reads as another root, with their root (model/resources/
    stems.tsv, written here by hand): it takes the first dictionary word an affix rule leaves,
    so "pemadaman" (an outage, from "padam") is "madam", "berserakan" (strewn, "serak") is
    "sera", "perawatan" (care, "rawat") is "awat", "bersihkan" (clean it) is "sih". Each was
    checked against Sastrawi's own reading."""
    text = resources.files("model").joinpath("resources/stems.tsv").read_text(encoding="utf-8")
    fixes: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        if line.strip():
            form, root = line.split("\t")
            fixes[form] = root
    return fixes


def _fixed_root(word: str, fixes: Mapping[str, str]) -> str | None:
    root = fixes.get(word)
    if root is not None or not fixes:
        return root
    for particle in PARTICLES:
        if word.endswith(particle):
            root = fixes.get(word[: -len(particle)])
            if root is not None:
                return root
    return None


class SastrawiStemmer(TransformerMixin, BaseEstimator):
    """Stem each whitespace-separated token of normalised text with Sastrawi.

    `cache_size` bounds the per-process word cache. Placeholder tokens (`_url_`), numbers and
    words of three letters or fewer pass through unchanged, and so do the words of `keep`
    (default `KEEP_WHOLE`: "sebelum", "setelah", ... that Sastrawi would strip to other words).
    With `fix_roots` the words of `stem_fixes()` (and those with a particle after them) get
    their right root instead of Sastrawi's; the step keeps the table it was fitted with.
    """

    # what a step pickled before the parameter existed reads (its `get_params`, a refit)
    keep: tuple[str, ...] | None = None

    # what a step pickled before the parameter existed reads: Sastrawi's roots, as it was trained
    fix_roots: bool = False

    def __init__(
        self,
        cache_size: int = 50_000,
        keep: tuple[str, ...] | None = None,
        fix_roots: bool = True,
    ) -> None:
        self.cache_size = cache_size
        self.keep = keep
        self.fix_roots = fix_roots

    def fit(self, X: Iterable[str], y: object = None) -> SastrawiStemmer:
        words = KEEP_WHOLE if self.keep is None else self.keep
        if isinstance(words, str) or any(not w or w.split() != [w] for w in words):
            raise ValueError(f"keep must be a sequence of single words, got {words!r}")
        self.keep_ = frozenset(words)
        self.fixes_ = dict(stem_fixes()) if self.fix_roots else {}
        self.__dict__.pop("_cached", None)
        self.n_features_in_ = 1
        # Stemming the training text now leaves the cache warm for the first requests.
        for doc in X:
            self.stem_text(str(doc))
        return self

    def _stem_word(self) -> Callable[[str], str]:
        fn = getattr(self, "_cached", None)
        if fn is None:
            stem_word = _sastrawi().stem_word
            # a step fitted before `keep` existed stems every word, as it was trained
            keep: frozenset[str] = getattr(self, "keep_", frozenset())
            # a step fitted before the table existed takes Sastrawi's roots, as it was trained
            fixes: dict[str, str] = getattr(self, "fixes_", {})

            def stem_or_keep(word: str) -> str:
                if word in keep:
                    return word
                root = _fixed_root(word, fixes)
                return root if root is not None else stem_word(word)

            fn = lru_cache(maxsize=self.cache_size)(stem_or_keep)
            self._cached = fn
        return fn

    def stem_text(self, text: str) -> str:
        stem = self._stem_word()
        # `_is_stemmable` inlined: this runs for every token of every post.
        return " ".join([stem(t) if len(t) > 3 and t.isalpha() else t for t in text.split()])

    def warm(self, words: Iterable[str]) -> None:
        """Stem `words` into the cache now, so the first posts that use them find them there."""
        stem = self._stem_word()
        for word in itertools.islice(filter(_is_stemmable, words), self.cache_size):
            stem(word)

    def cache_info(self) -> object:
        """`functools` cache statistics (hits, misses, currsize, maxsize)."""
        return self._stem_word().cache_info()  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state.pop("_cached", None)
        return state

    def transform(self, X: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        return np.array([self.stem_text(str(doc)) for doc in X], dtype=object)
