"""Fast inference derived from a fitted topic pipeline: the same numbers without the overhead.

scikit-learn's `Pipeline.predict_proba` on one post spends most of its ~2.5 ms on input
validation and sparse-matrix set-up. `FastPath` reads the fitted steps once, on load, and then
computes the same probabilities (within ~1e-15) with plain lookups:

- normalisation calls the fitted normaliser's own function, stemming the fitted stemmer, whose
  cache is warmed from the words training saw;
- n-grams are cut as the fitted vectorizers cut them (their own preprocessor, tokenizer and
  stop words); in the shipped layout (stem -> words, char_wb) one bounded cache entry per
  token holds its stem, the columns of its unigram and char n-grams (as the bytes of an int32
  array, so a post's columns are one bytes join) and its bigrams' columns by following stem
  (one small dict per first stem, over the unigrams' own strings; the bigrams are kept only
  there, not also as joined strings);
  a branch of a post's opening words (`model/lead.py`) is added beside, through the
  general path;
- each column is one row of a matrix holding idf x branch weight x classifier weights (a
  branch's rows numbered most frequent n-gram first, so that the rows posts read lie together
  in the CPU's caches; rows that are multiples of one vector, as those of the n-grams of one
  training post are, held once: `_factorise`), so a post costs a sort and count of its
  columns, a norm per branch, one sparse product (scipy's
  own routine, which sums a post's terms in the same order alone or in a batch: identical
  bits) and the classifier's head (temperature softmax, naive Bayes posterior or logistic
  softmax), computed with the operations scikit-learn uses (for one post, the same operations
  on its one row, in fewer calls).

Hyper-parameters are read from the fitted objects (n-gram ranges, analyzers, sublinear tf,
binary, norm, idf, branch weights, ensembles of calibrated classifiers). A step it cannot
reproduce, or a disagreement with the pipeline on probe texts at load time, makes it fall back
to the pipeline itself: `fallback_reason` then says why, and the numbers are still the pipeline's.
"""

from __future__ import annotations

import itertools
import math
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.naive_bayes import ComplementNB, MultinomialNB
from sklearn.pipeline import FeatureUnion, Pipeline

from model.gate import ComplaintGate, compose
from model.lead import LeadingWords
from model.negation import NegationMarker
from model.ngrams import char_wb_analyzer, char_wb_ngrams
from model.recovery import RecoveryMarker
from model.stem import SastrawiStemmer
from model.text import BoundedWordCache, TextNormaliser

try:  # the routine behind csr_array @ dense (a private module; the public path stays as backup)
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover
    _csr_matvecs = None

# Largest difference from the pipeline's probabilities the load-time check accepts.
TOLERANCE = 1e-9
# The per-token cache's entries (two generations; `WORD_CACHE_SIZE` in model/text.py says why).
DEFAULT_WORD_CACHE_SIZE = 48_000
# Posts counted together in a batch.
CHUNK = 256
# Constants of sklearn's `_convert_to_logits` and `_CalibratedClassifier.predict_proba`.
_LOGIT_EPS = 1e-12
_CLIP_ABOVE_ONE = 1e-5
# sklearn's `_VectorizerMixin._white_spaces`.
_WHITE_SPACES = re.compile(r"\s\s+")
# Column numbers: int32 halves the memory the caches and the counting sort go through.
_COL = np.int32
_NO_IDS = np.zeros(0, dtype=_COL)
# `array` type code of the same size as _COL: packing a few ints this way costs ~a third of
# building a NumPy array, and the bytes are the same
_COL_CODE = "i"
if array(_COL_CODE).itemsize != _NO_IDS.itemsize:  # pragma: no cover
    raise ImportError(f"array type {_COL_CODE!r} does not hold {_NO_IDS.dtype} values")
_NO_PAIRS: dict[str, int] = {}
_NORM_KINDS = {None: 0, "l1": 1, "l2": 2}
_SMALL = 256  # arrays up to this size are scanned in plain Python


def _pack(ids: Sequence[int]) -> bytes:
    """Column numbers as the bytes of a `_COL` array: a post's columns are one bytes join."""
    return array(_COL_CODE, ids).tobytes()


_TextStep = SastrawiStemmer | LeadingWords | NegationMarker | RecoveryMarker


def _text_step(step: _TextStep) -> Callable[[str], str]:
    """What a branch's text step does to one text."""
    if isinstance(step, SastrawiStemmer):
        return step.stem_text
    if isinstance(step, NegationMarker | RecoveryMarker):
        return step.mark_text
    return step.lead_text


class Unsupported(Exception):
    """A fitted step the fast path does not reproduce; the pipeline is used instead."""


def word_analyzer(vec: TfidfVectorizer) -> Callable[[str], list[str]]:
    """`vec.build_analyzer()` for `analyzer="word"` and `"char_wb"`, without its per-call
    indirections, for text input.

    Same preprocessor, tokenizer and stop words (taken from `vec`); `\\S+` tokenizes with
    `str.split`, which splits on exactly the characters `\\s` matches. Neither keeps a
    reference to `vec` (sklearn's own analyzer holds its bound methods, and so the fitted
    vectorizer with its vocabulary, alive as long as the analyzer).
    """
    if vec.analyzer == "char_wb":
        return char_wb_analyzer(vec.build_preprocessor(), vec.ngram_range)
    if vec.analyzer != "word":
        return vec.build_analyzer()
    preprocess = vec.build_preprocessor()
    tokenize = (
        str.split
        if vec.tokenizer is None and vec.token_pattern == r"\S+"
        else vec.build_tokenizer()
    )
    stop = vec.get_stop_words()
    min_n, max_n = int(vec.ngram_range[0]), int(vec.ngram_range[1])
    join = " ".join

    def grams(text: str) -> list[str]:
        tokens = tokenize(preprocess(text))
        if stop is not None:
            tokens = [t for t in tokens if t not in stop]
        out: list[str] = list(tokens) if min_n == 1 else []
        for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
            out.extend(map(join, zip(*(tokens[i:] for i in range(n)), strict=False)))
        return out

    return grams


@dataclass
class _Branch:
    """One FeatureUnion branch: its text steps, how it cuts n-grams, its slice of the columns."""

    name: str
    start: int
    size: int
    vocabulary: dict[str, int]  # n-gram -> global column (but those in `pairs`)
    text_steps: list[Callable[[str], str]]
    grams: Callable[[str], list[str]]
    sublinear_tf: bool
    binary: bool
    norm: str | None
    idf: np.ndarray | None  # until `FastPath._build` folds it into one table
    weight: float = 1.0  # FeatureUnion.transformer_weights
    # the vectorizer's column of each of the branch's columns here, from `start` (`_renumber`)
    order: np.ndarray = field(default_factory=lambda: _NO_IDS)
    stemmers: tuple[SastrawiStemmer, ...] = ()
    # NegationMarker steps (after the stemmer): the word after a negation is read marked
    negations: tuple[NegationMarker, ...] = ()
    # RecoveryMarker steps (after those): a token for a post that says a service works again
    recoveries: tuple[RecoveryMarker, ...] = ()
    # LeadingWords steps: the branch reads a post's opening words (what kind of post it is)
    leads: tuple[LeadingWords, ...] = ()
    # "words": whitespace-split word n-grams (ngram_range below), "char_wb": char n-grams per
    # word; either without preprocessing. "other": anything else the analyzer does.
    layout: str = "other"
    ngram_range: tuple[int, int] = (1, 1)
    # char_wb only: the vectorizer's preprocessor and the cached columns of one word's n-grams
    preprocess: Callable[[str], str] | None = None
    char_columns: Callable[[str], bytes] | None = None  # one word's, uncached
    word_columns: Callable[[str], bytes] | None = None  # the same behind a bounded cache
    # after `index_bigrams`: the columns of word bigrams, by first word then second
    pairs: dict[str, dict[str, int]] | None = None
    # an opening-words branch: the columns of its few words' n-grams, by those words (bounded)
    lead_columns: BoundedWordCache[bytes] | None = None

    @property
    def opening(self) -> bool:
        """Whether the branch reads only a post's opening words, not what the post is about."""
        return bool(self.leads)

    def index_bigrams(self) -> dict[str, dict[str, int]]:
        """Move every bigram ("first second", two words) from `vocabulary` to `pairs`.

        The per-token plan looks a bigram up by its two stems, with no joined string; holding
        the bigrams only there, keyed by the vocabulary's own unigram strings where it has
        them, keeps one entry per bigram instead of a joined string too (most of a word
        vocabulary is bigrams).
        """
        same = {term: term for term in self.vocabulary if " " not in term}
        pairs: dict[str, dict[str, int]] = {}
        rest: dict[str, int] = {}
        for term, j in self.vocabulary.items():
            first, _, second = term.partition(" ")
            if first and second and " " not in second:
                pairs.setdefault(same.get(first, first), {})[same.get(second, second)] = j
            else:
                rest[term] = j
        self.vocabulary, self.pairs = rest, pairs
        return pairs

    def terms(self) -> Iterator[str]:
        """Every n-gram of the branch, those in `pairs` joined again."""
        yield from self.vocabulary
        for first, following in (self.pairs or {}).items():
            for second in following:
                yield f"{first} {second}"

    def _column(self, gram: str) -> int | None:
        """The global column of an n-gram, or None (`vocabulary.get`, with `pairs`)."""
        j = self.vocabulary.get(gram)
        if j is None and self.pairs is not None:
            first, _, second = gram.partition(" ")
            if second:
                j = self.pairs.get(first, _NO_PAIRS).get(second)
        return j

    def add_columns(self, text: str, parts: list[bytes]) -> None:
        """Append the columns of `text`'s n-grams in this branch (repeats included) to `parts`."""
        for step in self.text_steps:
            text = step(text)
        if self.word_columns is not None:
            assert self.preprocess is not None
            parts.extend(
                map(self.word_columns, _WHITE_SPACES.sub(" ", self.preprocess(text)).split())
            )
            return
        if self.lead_columns is not None:
            parts.append(self.lead_columns(text))
            return
        parts.append(self._columns_of(text))

    def _columns_of(self, text: str) -> bytes:
        """The columns of the n-grams of `text` (after the text steps), uncached."""
        get = self.vocabulary.get if self.pairs is None else self._column
        return _pack([j for j in map(get, self.grams(text)) if j is not None])


class _PerToken:
    """The shipped layout computed per whitespace token, each token's share cached (bounded).

    Applies when one branch is stem (optional) -> word n-grams split on whitespace and the other
    (optional) is `char_wb` on the same text, neither preprocessing: then a post's word n-grams
    are n-grams of its tokens' stems and its char n-grams the union of its tokens', so one cached
    lookup per token gives the stem, the columns of its unigram and char n-grams, and the
    columns of the bigrams it starts, by following stem. A token whose stem is empty or holds
    whitespace (where splitting again would differ) sends its post down the general path.
    """

    def __init__(
        self,
        word: _Branch,
        stemmer: SastrawiStemmer | None,
        ngram_range: tuple[int, int],
        char: _Branch | None,
        cache_size: int,
        negation: NegationMarker | None = None,
        recovery: RecoveryMarker | None = None,
    ) -> None:
        self._stem = stemmer.stem_text if stemmer is not None else None
        self._unigrams = ngram_range[0] == 1
        longer = range(max(ngram_range[0], 2), ngram_range[1] + 1)
        # bigram columns by first stem, then second: two lookups, no joined string
        self._pairs = word.index_bigrams() if 2 in longer else None
        self._get = word.vocabulary.get  # unigrams and longer n-grams
        self._longer = [n for n in longer if n > 2]
        # uncached: the entry cache keeps what it needs (no second copy per word)
        self._char_columns = char.char_columns if char is not None else None
        self.entry = BoundedWordCache(self._entry, cache_size)
        # the word after a negation: its stem marked, the columns of the marked unigram and
        # of the bigrams the marked stem starts (few words: a cache of their own)
        self._negation = negation
        self._negators = negation.negators_ if negation is not None else frozenset()
        self.negated = BoundedWordCache(self._negated, max(2, cache_size // 10))
        # the recovery marker's token, appended to a post's words: its unigram's column (no
        # char n-grams: the char branch reads the text before the word branch's steps)
        self._recovery = recovery
        if recovery is not None:
            unigram = self._get(recovery.token) if self._unigrams else None
            self._recovered = (
                recovery.token,
                _pack([unigram]) if unigram is not None else b"",
                self._pairs.get(recovery.token, _NO_PAIRS)
                if self._pairs is not None
                else _NO_PAIRS,
            )

    def _negated(self, token: str) -> tuple[str | None, bytes, dict[str, int]]:
        """`_entry` of a token whose stem the negation marker marks."""
        stem, _, _ = self.entry(token)
        assert stem is not None and self._negation is not None
        return self._entry_of(token, self._negation.prefix + stem)

    def _entry(self, token: str) -> tuple[str | None, bytes, dict[str, int]]:
        """The token's stem, the columns of its own n-grams (char n-grams and unigram) and the
        bigram columns by the stem that follows; stem None if it would split differently."""
        stem = self._stem(token) if self._stem is not None else token
        if stem.split() != [stem]:
            return None, b"", _NO_PAIRS
        return self._entry_of(token, stem)

    def _entry_of(self, token: str, stem: str) -> tuple[str, bytes, dict[str, int]]:
        """The entry of `token` read as the word-branch term `stem`."""
        cols = self._char_columns(token) if self._char_columns is not None else b""
        unigram = self._get(stem) if self._unigrams else None
        if unigram is not None:
            cols += _pack([unigram])
        following = self._pairs.get(stem, _NO_PAIRS) if self._pairs is not None else _NO_PAIRS
        return stem, cols, following

    def columns(self, text: str) -> bytes | None:
        tokens = text.split()
        entries = self.entry.many(tokens)
        if not entries:
            return b""
        # the stems, the columns and the bigram tables of the tokens, each in one C-level pass
        stems, own, follows = map(list, zip(*entries, strict=True))
        if None in stems:
            return None
        if self._negation is not None and not self._negators.isdisjoint(stems[:-1]):
            for i in self._negation.marks(stems):
                stems[i], own[i], follows[i] = self.negated(tokens[i])
        if self._recovery is not None and self._recovery.recovered(stems):
            token, cols, following = self._recovered
            stems.append(token)
            own.append(cols)
            follows.append(following)
        parts = own
        if len(stems) > 1 and (self._pairs is not None or self._longer):
            if self._pairs is not None:
                found = map(dict.get, follows, stems[1:])
                parts.append(_pack([j for j in found if j is not None]))
            get, join = self._get, " ".join
            for n in self._longer:
                grams = map(join, zip(*(stems[i:] for i in range(n)), strict=False))
                parts.append(_pack([j for j in map(get, grams) if j is not None]))
        return b"".join(parts)


@dataclass
class _Head:
    """One linear model's output columns and how scikit-learn turns them into probabilities."""

    kind: str  # "temperature", "naive_bayes+temperature" or "logreg"
    columns: slice
    intercept: np.ndarray
    beta: Any = None  # the temperature scaler's inverse temperature (a NumPy scalar)
    binary: bool = False  # two classes


@dataclass(frozen=True)
class _Gate:
    """How a `ComplaintGate`'s two classifiers' probabilities compose (`model.gate.compose`):
    what composing needs, not the classifier (a second copy of its weights)."""

    topic_columns: np.ndarray
    negative_column: int | None  # None: no gate was fitted, the topic model is the model
    true_column: int  # the gate's "no complaint" column

    @classmethod
    def of(cls, gate: ComplaintGate) -> _Gate:
        true_column = 0 if gate.gate_ is None else list(gate.gate_.classes_).index(True)
        return cls(gate.topic_columns_, gate.negative_column_, true_column)


class FastPath:
    """The probabilities of a fitted topic pipeline, computed without scikit-learn calls.

    `normalise(texts)` gives what the features (and the area resolver) read;
    `predict_proba_normalised(normalised)` the probabilities, columns in `classes_` order;
    `predict_proba(texts)` equals `pipeline.predict_proba(texts)`.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        word_cache_size: int = DEFAULT_WORD_CACHE_SIZE,
        verify: bool = True,
    ) -> None:
        self.classes_ = pipeline.classes_
        self.word_cache_size = word_cache_size
        self.fallback_reason: str | None = None
        self._first = pipeline.steps[0][1]
        # The steps after normalising: kept only while they are needed (to verify on load,
        # or to compute everything when the fast path does not apply), so a server that
        # runs on the fast path does not hold a second copy of the model's vocabularies.
        self._rest: Pipeline | None = pipeline[1:]
        try:
            self._build(pipeline)
        except Unsupported as exc:
            self.fallback_reason = f"{exc}; using the pipeline"
            return
        self._warm()
        if verify:
            self.fallback_reason = self._verify()
        if self.is_fast:
            self._rest = None

    @property
    def is_fast(self) -> bool:
        """False when the pipeline itself computes the probabilities (see `fallback_reason`)."""
        return self.fallback_reason is None

    # -- inference ------------------------------------------------------------------------

    def normalise(self, texts: Sequence[str]) -> list[str]:
        """The normalise step's output for each text, as strings."""
        if isinstance(self._first, TextNormaliser):
            one = self._first.normalise_one
            return [one(str(t)) for t in texts]
        return [str(t) for t in self._first.transform(list(texts))]

    def normalise_content(
        self, texts: Sequence[str], normalised: Sequence[str] | None = None
    ) -> list[str]:
        """What the repeat search compares of `texts`: their `normalise` output (`normalised`,
        when the caller has it) without the words of mentioned handles
        (`TextNormaliser.normalise_content_one`); the same strings where a text mentions no
        one, or for another first step."""
        if normalised is None:
            normalised = self.normalise(texts)
        if not isinstance(self._first, TextNormaliser):
            return list(normalised)
        content = self._first.normalise_content_one
        return [
            n if "@" not in t else content(str(t)) for t, n in zip(texts, normalised, strict=True)
        ]

    def normalise_clauses(self, texts: Sequence[str]) -> list[str]:
        """What the area resolver reads: each clause normalised alone, joined by a break token
        (`TextNormaliser.normalise_clauses_one`); `normalise` for another first step."""
        if isinstance(self._first, TextNormaliser):
            one = self._first.normalise_clauses_one
            return [one(str(t)) for t in texts]
        return self.normalise(texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """`pipeline.predict_proba(texts)`."""
        return self.predict_proba_normalised(self.normalise(texts))

    def predict_proba_normalised(self, normalised: Sequence[str]) -> np.ndarray:
        """Probabilities for texts already through the normalise step."""
        if self._rest is not None and not self.is_fast:
            return np.asarray(self._rest.predict_proba(np.asarray(normalised, dtype=object)))
        return self._proba(normalised)

    def _proba(self, normalised: Sequence[str]) -> np.ndarray:
        if not normalised:
            return np.empty((0, len(self.classes_)))
        if len(normalised) == 1:
            scores = self._scores_one(self._columns(normalised[0]))
            one = self._gate_one(scores) if self._gate_one_heads is not None else None
            return one if one is not None else self._head_proba(scores[None, :])
        scores = np.empty((len(normalised), self._weights.shape[1]))
        # Chunks keep the counting arrays in cache; the head sees the whole batch, as in sklearn.
        for lo in range(0, len(normalised), CHUNK):
            chunk = normalised[lo : lo + CHUNK]
            scores[lo : lo + len(chunk)] = self._scores_many([self._columns(t) for t in chunk])
        return self._head_proba(scores)

    def _columns(self, text: str) -> bytes:
        """The columns of `text`'s n-grams, repeats included, as the bytes of a `_COL` array."""
        if self._per_token is not None:
            fused = self._per_token.columns(text)
            if fused is not None:
                if not self._beside_per_token:
                    return fused
                parts = [fused]
                for b in self._beside_per_token:
                    b.add_columns(text, parts)
                return b"".join(parts)
        parts = []
        for b in self._branches:
            b.add_columns(text, parts)
        return b"".join(parts)

    def _count(self, packed: bytes) -> tuple[np.ndarray, np.ndarray]:
        """One post's distinct columns, in order, and how often each occurs."""
        ids = np.sort(np.frombuffer(packed, dtype=_COL))
        n = ids.size
        edge = np.empty(n + 1, dtype=bool)
        edge[0] = edge[n] = True
        np.not_equal(ids[1:], ids[:-1], out=edge[1:n])
        (bounds,) = edge.nonzero()
        return ids[bounds[:-1]], np.subtract(bounds[1:], bounds[:-1], dtype=np.float64)

    def _scores_one(self, packed: bytes) -> np.ndarray:
        """One post's raw outputs: its TF-IDF row times the folded weights."""
        if not packed:
            return np.zeros(self._weights.shape[1])
        cols, tf = self._count(packed)
        self._weigh(tf, cols, None, 1)
        indptr = np.array([0, cols.size], dtype=cols.dtype)
        out: np.ndarray = self._product(tf, cols, indptr, 1)[0]
        return out

    def _scores_many(self, docs: list[bytes]) -> np.ndarray:
        """Raw outputs of several posts: their TF-IDF rows times the folded weights."""
        weighed = self._weighed_rows(docs)
        if weighed is None:
            return np.zeros((len(docs), self._weights.shape[1]))
        tf, cols, indptr = weighed
        return self._product(tf, cols, indptr, len(docs))

    def _weighed_rows(self, docs: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Several posts' rows as CSR arrays over the columns here: the multipliers of the
        folded weight rows (`_weigh`), their columns in order, and where each post's row starts.
        One sort over (post, column) keys counts them all; None when no post has a column."""
        n = len(docs)
        n_features = self.n_features
        size = _NO_IDS.itemsize
        lengths = np.fromiter(map(len, docs), dtype=np.intp, count=n) // size
        ids = np.frombuffer(bytearray(b"".join(docs)), dtype=_COL)
        # Each post sorted alone: a few hundred values sort ~10x faster per value than a chunk's
        # ~100,000, and the (post, column) keys come out sorted all the same.
        lo = 0
        for hi in itertools.accumulate(lengths.tolist()):
            ids[lo:hi].sort()
            lo = hi
        offsets = np.arange(0, n * n_features, n_features, dtype=self._key_dtype)
        keys = ids.astype(self._key_dtype) + np.repeat(offsets, lengths)
        m = keys.size
        if m == 0:
            return None
        edge = np.empty(m + 1, dtype=bool)
        edge[0] = edge[m] = True
        np.not_equal(keys[1:], keys[:-1], out=edge[1:m])
        (bounds,) = edge.nonzero()
        keys = keys[bounds[:-1]]
        tf = np.subtract(bounds[1:], bounds[:-1], dtype=np.float64)  # counts
        rows, cols = np.divmod(keys, n_features)
        self._weigh(tf, cols, rows, n)
        indptr = np.searchsorted(rows, np.arange(n + 1, dtype=rows.dtype)).astype(cols.dtype)
        return tf, cols, indptr

    def _product(self, tf: np.ndarray, cols: np.ndarray, indptr: np.ndarray, n: int) -> np.ndarray:
        """The weighted counts of `n` posts (CSR arrays over columns) times the weight rows."""
        if self._row_of is not None:  # a factorised column: its group's row, times its scale
            assert self._scale is not None
            tf = tf * self._scale.take(cols)
            cols = self._row_of.take(cols)
        return _csr_times(tf, cols, indptr, self._weights, n)

    def _weigh(self, tf: np.ndarray, cols: np.ndarray, rows: np.ndarray | None, n: int) -> None:
        """Counts to the multipliers of the folded weight rows, in place.

        Each (post, branch) pair is one row of that branch's TF-IDF matrix in sklearn: tf
        (binary, sublinear) times idf, divided by the row's norm. idf is folded into the
        weights, so only the norm needs it here. `rows` is None for a single post.
        """
        n_branches = len(self._branches)
        # which branch each column is in, computed rather than looked up (no cache misses)
        branch = self._branch_starts.searchsorted(cols, "right") if n_branches > 1 else None
        if self._uniform_tf is not None:
            _tf(self._uniform_tf, tf)
        else:
            assert branch is not None
            for k, b in enumerate(self._branches):
                mask = branch == k
                part = tf[mask]
                _tf(b, part)
                tf[mask] = part
        if self._uniform_norm == 0:
            return
        values = tf * self._idf(cols)
        if self._uniform_norm == 2:
            per = values * values
        elif self._uniform_norm == 1:
            per = np.abs(values)
        else:
            assert branch is not None
            per = np.where(self._norm_kind.take(branch) == 2, values * values, np.abs(values))
        # The same summation order for one post as for a batch (bincount adds in input order).
        if branch is None:
            groups = rows if rows is not None else np.zeros(cols.size, dtype=np.intp)
        elif rows is None:
            groups = branch
        else:
            groups = rows * n_branches + branch
        norms = np.bincount(groups, weights=per, minlength=n * n_branches)
        if self._uniform_norm == 2:
            np.sqrt(norms, out=norms)
        elif self._uniform_norm != 1:
            kinds = np.tile(self._norm_kind, n)
            norms[kinds == 2] = np.sqrt(norms[kinds == 2])
            norms[kinds == 0] = 1.0
        norms[norms == 0.0] = 1.0
        tf /= norms.take(groups)

    def _folded(self, cols: np.ndarray) -> np.ndarray:
        """idf times branch weight of each of `cols`, as folded into the weights."""
        branch = self._branch_starts.searchsorted(cols, "right")
        return self._idf(cols) * self._branch_weights.take(branch)

    def _idf(self, cols: np.ndarray) -> np.ndarray:
        """The idf of each of `cols` (1 in a branch without idf)."""
        out: np.ndarray = self._idf_levels.take(self._idf_level.take(cols))
        return out

    def features(self, normalised: Sequence[str], *, content_only: bool = False) -> sp.csr_matrix:
        """The features step's output (the TF-IDF rows the classifier reads) for texts already
        through the normalise step; used to compare posts with each other.

        `content_only` leaves out (as zeros) the branches that read only a post's opening words
        ("terima kasih", "tolong"): they tell what kind of post it is, not what it is about.
        """
        if self._rest is not None and not self.is_fast:
            return _union_features(
                self._rest.named_steps["features"], list(normalised), content_only
            )
        opening = [b for b in self._branches if b.opening] if content_only else []
        data: list[np.ndarray] = []
        indices: list[np.ndarray] = []
        indptr: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        for lo in range(0, len(normalised), CHUNK):  # chunks: (post, column) keys stay small
            docs = [self._columns(text) for text in normalised[lo : lo + CHUNK]]
            weighed = self._weighed_rows(docs)
            if weighed is None:
                indptr.append(np.full(len(docs), indptr[-1][-1]))
                continue
            tf, cols, starts = weighed
            if opening:
                keep = np.ones(cols.size, dtype=bool)
                for b in opening:
                    keep &= (cols < b.start) | (cols >= b.start + b.size)
                # each post's start moves back by the columns left out before it
                starts = starts - np.concatenate([[0], np.cumsum(~keep)])[starts]
                tf, cols = tf[keep], cols[keep]
            data.append(tf * self._folded(cols))
            indices.append(self._original.take(cols))  # the pipeline's columns
            indptr.append(starts[1:] + indptr[-1][-1])
        matrix = sp.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else _NO_IDS,
                np.concatenate(indptr),
            ),
            shape=(len(normalised), self.n_features),
        )
        matrix.sort_indices()  # the pipeline's column order within each row
        return matrix

    def _head_proba(self, scores: np.ndarray) -> np.ndarray:
        if self._gate is None:
            return _mean_proba(self._heads, scores, len(self.classes_))
        # ComplaintGate.predict_proba: the gate's and the topic model's, composed
        gate = self._gate
        n_topics = len(gate.topic_columns)
        if n_topics == 1:
            topics = np.ones((scores.shape[0], 1))
        else:
            topics = _mean_proba(self._heads, scores, n_topics)
        if gate.negative_column is None:
            return topics
        assert self._gate_heads is not None
        not_complaint = _mean_proba(self._gate_heads, scores, 2)[:, gate.true_column]
        return compose(
            not_complaint, topics, gate.topic_columns, gate.negative_column, len(self.classes_)
        )

    def _gate_one(self, row: np.ndarray) -> np.ndarray | None:
        """`_head_proba` of one post for the shipped shape of model (a gate over a topic model,
        each one calibrated linear model with temperature scaling): the same operations on the
        same values, without the batch path's slicing and stacking. None where the general path
        has to decide (decision values that look like probabilities, or not finite)."""
        assert self._gate is not None and self._gate_one_heads is not None
        head, gate_head = self._gate_one_heads
        topics = row[head.columns] + head.intercept
        if not _logits(topics):
            return None
        value = float(row[gate_head.columns.start] + gate_head.intercept[0])
        if not math.isfinite(value):
            return None
        _temperature_row(head, topics)
        gate = self._gate
        assert gate.negative_column is not None  # as `_build` chose `_gate_one_heads`
        not_complaint = _binary_temperature_one(gate_head, value)[:, gate.true_column]
        n_classes = len(self.classes_)
        return compose(
            not_complaint, topics[None, :], gate.topic_columns, gate.negative_column, n_classes
        )

    # -- building -------------------------------------------------------------------------

    def _build(self, pipeline: Pipeline) -> None:
        steps = pipeline.steps
        if len(steps) != 3:
            raise Unsupported(f"expected normalise -> features -> classify, got {len(steps)} steps")
        features, classifier = steps[1][1], steps[2][1]
        if not isinstance(features, FeatureUnion):
            raise Unsupported(f"the features step is a {type(features).__name__}")
        weights = features.transformer_weights or {}
        branches: list[_Branch] = []
        start = 0
        for name, transformer in features.transformer_list:
            if isinstance(transformer, Pipeline):
                *text_steps, vectorizer = [s for _, s in transformer.steps]
            else:
                text_steps, vectorizer = [], transformer
            branch = self._branch(name, start, text_steps, vectorizer)
            branch.weight = float(weights.get(name, 1.0))
            branches.append(branch)
            start += branch.size
        if not branches:
            raise Unsupported("the feature union has no branches")
        if start >= np.iinfo(_COL).max:
            raise Unsupported(f"{start} features do not fit {np.dtype(_COL)} column numbers")
        # (post, column) keys of a chunk fit int32 unless the vocabulary is huge
        self._key_dtype = np.int32 if CHUNK * start < np.iinfo(np.int32).max else np.int64
        self._branches = branches
        self.n_features = start
        self._branch_starts = np.array([b.start for b in branches[1:]], dtype=_COL)
        self._norm_kind = np.array([_NORM_KINDS[b.norm] for b in branches])
        kinds = set(self._norm_kind.tolist())
        self._uniform_norm = kinds.pop() if len(kinds) == 1 else -1
        tf_modes = {(b.binary, b.sublinear_tf) for b in branches}
        self._uniform_tf = branches[0] if len(tf_modes) == 1 else None
        idf = np.ones(start)
        for b in branches:
            if b.idf is not None:
                idf[b.start : b.start + b.size] = b.idf
                b.idf = None  # held once, below
        # Each column's idf as a number of one of its few distinct values (one per document
        # frequency): 2 bytes a column instead of 8, the same float64 values.
        levels, level = np.unique(idf, return_inverse=True)
        self._idf_levels = levels
        self._idf_level: np.ndarray[Any, np.dtype[np.unsignedinteger[Any]]] = level.astype(
            np.uint16 if levels.size <= 1 << 16 else np.uint32
        )
        # each column's branch weight, by branch (`_folded` multiplies it with idf when asked:
        # an array of every column's product would hold another 8 bytes a column)
        self._branch_weights = np.array([b.weight for b in branches])
        self._gate: _Gate | None = None
        self._gate_heads: list[_Head] | None = None
        if isinstance(classifier, ComplaintGate):
            self._gate = _Gate.of(classifier)
            columns, heads = np.zeros((start, 0)), list[_Head]()
            if classifier.topics_ is not None:
                columns, heads = self._classifier(classifier.topics_, classifier.topic_classes_)
            if classifier.gate_ is not None:
                gate_columns, gate_heads = self._classifier(
                    classifier.gate_, classifier.gate_.classes_, offset=columns.shape[1]
                )
                columns = np.hstack([columns, gate_columns])
                self._gate_heads = gate_heads
        else:
            columns, heads = self._classifier(classifier, self.classes_)
        if columns.shape[0] != start:
            raise Unsupported(f"the classifier reads {columns.shape[0]} features, not {start}")
        self._original = self._renumber()
        # idf and branch weight folded into the classifier's weights: one row per n-gram.
        columns = columns[self._original]
        columns *= self._folded(np.arange(start))[:, None]
        self._weights, self._row_of, self._scale = _factorise(columns)
        del columns
        self._heads = heads
        # the heads `_gate_one` reads, when the model has the shape it computes
        self._gate_one_heads: tuple[_Head, _Head] | None = None
        gate_heads = self._gate_heads or []
        if (
            self._gate is not None
            and self._gate.negative_column is not None
            and len(self._gate.topic_columns) > 1
            and len(heads) == 1
            and len(gate_heads) == 1
            and heads[0].kind == gate_heads[0].kind == "temperature"
            and gate_heads[0].columns.stop - gate_heads[0].columns.start == 1
        ):
            self._gate_one_heads = (heads[0], gate_heads[0])
        self._per_token, self._beside_per_token = self._plan_per_token()

    def _renumber(self) -> np.ndarray:
        """The pipeline's column of each column here.

        Each branch numbers its columns by how many posts have them (lowest idf first), not in
        the vectorizer's alphabetical order: the weight rows a post reads (most of its n-grams
        are frequent ones) then lie together in a few hundred kB that stay in the CPU's
        caches, instead of spread over the whole matrix (tens of MB).
        """
        original = np.concatenate([b.start + b.order for b in self._branches]).astype(_COL)
        for b in self._branches:
            b.order = _NO_IDS  # held once, here
        return original

    def _plan_per_token(self) -> tuple[_PerToken | None, list[_Branch]]:
        """The per-token plan, if the branches allow one, and the branches it leaves to the
        general path (the opening words, say), added beside it."""
        words = [b for b in self._branches if b.layout == "words"]
        chars = [b for b in self._branches if b.layout == "char_wb"]
        if len(words) != 1 or len(chars) > 1:
            return None, []
        (word,) = words
        stemmer = word.stemmers[0] if word.stemmers else None
        char = chars[0] if chars else None
        negation = word.negations[0] if word.negations else None
        recovery = word.recoveries[0] if word.recoveries else None
        plan = _PerToken(
            word, stemmer, word.ngram_range, char, self.word_cache_size, negation, recovery
        )
        return plan, [b for b in self._branches if b not in words + chars]

    def _branch(self, name: str, start: int, text_steps: list[Any], vec: Any) -> _Branch:
        if not isinstance(vec, TfidfVectorizer):
            raise Unsupported(f"branch {name!r} ends in a {type(vec).__name__}")
        if vec.input != "content":
            raise Unsupported(f"branch {name!r} reads {vec.input!r} input")
        if np.dtype(vec.dtype) != np.float64:
            raise Unsupported(f"branch {name!r} computes in {np.dtype(vec.dtype)}")
        if vec.norm not in _NORM_KINDS:
            raise Unsupported(f"branch {name!r} uses norm {vec.norm!r}")
        for step in text_steps:
            if not isinstance(step, _TextStep):
                raise Unsupported(f"branch {name!r} has a {type(step).__name__} step")
        stemmers = tuple(s for s in text_steps if isinstance(s, SastrawiStemmer))
        negations = tuple(s for s in text_steps if isinstance(s, NegationMarker))
        recoveries = tuple(s for s in text_steps if isinstance(s, RecoveryMarker))
        size = len(vec.vocabulary_)
        if set(vec.vocabulary_.values()) != set(range(size)):
            raise Unsupported(f"branch {name!r} has gaps in its vocabulary")
        idf = np.asarray(vec.idf_, dtype=np.float64) if vec.use_idf else None
        # the branch's columns numbered by how many posts have them, most first (`_renumber`)
        order = np.argsort(idf, kind="stable") if idf is not None else np.arange(size)
        rank = np.empty(size, dtype=np.intp)
        rank[order] = np.arange(start, start + size)
        vocabulary = {term: int(rank[j]) for term, j in vec.vocabulary_.items()}
        branch = _Branch(
            name=name,
            start=start,
            size=size,
            vocabulary=vocabulary,
            text_steps=[_text_step(step) for step in text_steps],
            grams=word_analyzer(vec),
            sublinear_tf=bool(vec.sublinear_tf),
            binary=bool(vec.binary),
            norm=vec.norm,
            idf=idf[order] if idf is not None else None,
            order=order.astype(_COL),
            stemmers=stemmers,
            negations=negations,
            recoveries=recoveries,
            leads=tuple(s for s in text_steps if isinstance(s, LeadingWords)),
            ngram_range=(int(vec.ngram_range[0]), int(vec.ngram_range[1])),
        )
        plain = vec.preprocessor is None and not vec.lowercase and vec.strip_accents is None
        if plain and vec.analyzer == "char_wb" and not text_steps:
            branch.layout = "char_wb"
        elif (
            plain
            and vec.analyzer == "word"
            and vec.tokenizer is None
            and vec.token_pattern == r"\S+"
            and vec.stop_words is None
            # [stemmer], [marker], [stemmer, marker] or nothing before the vectorizer, then
            # perhaps the recovery marker
            and len(stemmers) <= 1
            and len(negations) <= 1
            and len(recoveries) <= 1
            and list(text_steps) == [*stemmers, *negations, *recoveries]
        ):
            branch.layout = "words"
        if branch.opening:
            # a post's first words repeat from post to post ("tolong", "terima kasih")
            size = max(2, self.word_cache_size // 4)
            branch.lead_columns = BoundedWordCache(branch._columns_of, size)
        if vec.analyzer == "char_wb":
            ngram_range = branch.ngram_range
            get = vocabulary.get

            def word_columns(word: str) -> bytes:
                grams = char_wb_ngrams(word, ngram_range)
                return _pack([j for j in map(get, grams) if j is not None])

            branch.preprocess = vec.build_preprocessor()
            branch.char_columns = word_columns
            branch.word_columns = lru_cache(maxsize=self.word_cache_size)(word_columns)
        return branch

    def _classifier(
        self, classifier: Any, classes: np.ndarray, offset: int = 0
    ) -> tuple[np.ndarray, list[_Head]]:
        """The weight columns (features x outputs) of every linear model of a classifier of
        `classes`, and their heads, whose output columns start at `offset`."""
        if not isinstance(classifier, CalibratedClassifierCV):
            if not isinstance(classifier, LogisticRegression):
                raise Unsupported(f"uncalibrated {type(classifier).__name__}")
            w, b = _coef(classifier)
            binary = len(classes) == 2
            return w, [_Head("logreg", slice(offset, offset + w.shape[1]), b, None, binary)]
        if classifier.method != "temperature":
            raise Unsupported(f"calibration method {classifier.method!r}")
        blocks: list[np.ndarray] = []
        heads: list[_Head] = []
        for calibrated in classifier.calibrated_classifiers_:
            est = calibrated.estimator
            if len(est.classes_) != len(classes):
                raise Unsupported("a calibrated estimator saw fewer classes than the model")
            if isinstance(est, ComplementNB | MultinomialNB):
                flp = np.asarray(est.feature_log_prob_, dtype=np.float64)
                # ComplementNB adds its prior only with a single class; MultinomialNB always.
                if isinstance(est, MultinomialNB) or len(est.classes_) == 1:
                    prior = np.asarray(est.class_log_prior_, dtype=np.float64)
                else:
                    prior = np.zeros(flp.shape[0])
                w, b, kind = flp.T, prior, "naive_bayes+temperature"
            elif isinstance(est, LinearClassifierMixin):
                w, b = _coef(est)
                kind = "temperature"
            else:
                raise Unsupported(f"calibrated {type(est).__name__}")
            (scaler,) = calibrated.calibrators
            col = offset + sum(block.shape[1] for block in blocks)
            heads.append(
                _Head(kind, slice(col, col + w.shape[1]), b, scaler.beta_, len(est.classes_) == 2)
            )
            blocks.append(w)
        return np.hstack(blocks), heads

    def _warm(self) -> None:
        """Fill the stemmer's and the per-word n-gram caches with the words training saw."""
        words = set(getattr(self._first, "known_words_", ()))
        for b in self._branches:
            if b.word_columns is None and not b.opening:
                words.update(t for t in b.vocabulary if " " not in t)
        ordered = sorted(words)
        for b in self._branches:
            for stemmer in b.stemmers:
                stemmer.warm(ordered)
        some = ordered[: self.word_cache_size]
        if self._per_token is not None:
            for word in some[: self.word_cache_size // 2]:  # the recent generation's share
                self._per_token.entry(word)
            return
        for b in self._branches:
            if b.word_columns is not None:
                for word in some:
                    b.word_columns(word)

    def _probe_texts(self) -> list[str]:
        """Texts for the load-time check: vocabulary words, repeats, unknown words, nothing."""
        terms = sorted(
            t for b in self._branches if b.word_columns is None and not b.opening for t in b.terms()
        )
        picked = terms[:: max(1, len(terms) // 40)][:40]  # unigrams and longer n-grams
        probes = [
            "",
            " ".join(picked[:12]),
            " ".join(picked[12:26] + picked[12:15] + picked[12:14]),
            " ".join([*picked[26:], "qzxv", "katabaru", *picked[26:30]]),
            "_angka_ _emoji_ qzxv qzxv",
        ]
        # the word after each negation (and negations in a row, at the end, before a token)
        for b in self._branches:
            for marker in b.negations:
                words = sorted(marker.negators_)
                some = [*picked, "qzxv"]
                probes.append(
                    " ".join(f"{w} {some[k % len(some)]}" for k, w in enumerate(words))
                    + f" {words[0]} {words[-1]} _angka_ {words[0]} {words[0]}"
                )
        # a post that says a service works again, one where a negation turns the state word,
        # and one where the state word comes too late
        for b in self._branches:
            for recovery in b.recoveries:
                start, state = min(recovery.starts_), min(recovery.states_)
                turn = min(recovery.turns_, default="qzxv")
                some = [*picked[:3], "qzxv"]
                far = " ".join(some[: recovery.window])
                probes.append(f"{some[0]} {start} {state}")
                probes.append(f"{start} {turn} {state} {some[1]}")
                probes.append(f"{start} {far} {state} {start} {start}")
        # texts that open with words the opening-words branches know, after a mention
        for b in self._branches:
            if b.opening:
                known = sorted(
                    {
                        t.split()[0][len(step.marker) :]
                        for step in b.leads
                        for t in b.vocabulary
                        if t.startswith(step.marker)
                    }
                )
                some = known[:: max(1, len(known) // 8)][:8]
                probes.append(" ".join(["_mention_", *some, *picked[:3]]))
                probes.append(" ".join(some[::-1]))
        return probes

    def _verify(self) -> str | None:
        probes = self._probe_texts()
        assert self._rest is not None
        expected = self._rest.predict_proba(np.asarray(probes, dtype=object))
        batch = self._proba(probes)
        single = np.vstack([self._proba([p]) for p in probes])
        worst = max(float(np.abs(batch - expected).max()), float(np.abs(single - expected).max()))
        if not worst <= TOLERANCE:
            return f"differs from the pipeline by {worst:.3g} on probe texts; using the pipeline"
        return None


def _union_features(union: FeatureUnion, texts: list[str], content_only: bool) -> sp.csr_matrix:
    """`union.transform(texts)`; with `content_only`, the blocks of branches with a
    LeadingWords step are zeros (the same shape, the other blocks unchanged)."""
    X = np.asarray(texts, dtype=object)
    if not content_only:
        return sp.csr_matrix(union.transform(X))
    weights = union.transformer_weights or {}
    blocks = []
    for name, transformer in union.transformer_list:
        if transformer == "drop":
            continue
        block = sp.csr_matrix(transformer.transform(X))
        steps = transformer.steps if isinstance(transformer, Pipeline) else []
        if any(isinstance(step, LeadingWords) for _, step in steps):
            block = sp.csr_matrix(block.shape)
        elif name in weights:
            block = block * weights[name]
        blocks.append(block)
    return sp.csr_matrix(sp.hstack(blocks, format="csr"))


# Rows of the weight matrix that are one multiple of another, within this share of the row's
# largest weight, are held as that multiple (`_factorise`); exact ones differ by ~5e-16.
_FACTOR_TOLERANCE = 1e-12
_FACTOR_BLOCK = 16_384


def _factorise(
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The weight rows with those that are multiples of one direction held once.

    A linear SVM's weights for an n-gram of one training post are that post's dual
    coefficients times the n-gram's value in it (liblinear adds `alpha * y * x` per post), so
    the rows of every n-gram seen in one post only (most word bigrams) are multiples of one
    vector per post, and zero for a post that is no support vector. Each such group is held as
    one row (unit length) and each of its columns as the group's row and a scale: ~12 bytes a
    column instead of 8 per output. Returns (rows, the row of each column, the scale of each
    column), or (weights, None, None) where grouping saves no memory. Works through the rows
    a block at a time, so that loading a model needs no full-size temporary copies.
    """
    n, k = weights.shape
    norms = np.sqrt(np.einsum("ij,ij->i", weights, weights))
    norms[norms == 0.0] = 1.0
    mix = np.random.default_rng(0).integers(1, 1 << 63, size=k, dtype=np.uint64) | np.uint64(1)
    sign = np.empty(n)
    key = np.empty(n, dtype=np.uint64)
    for lo in range(0, n, _FACTOR_BLOCK):
        block = slice(lo, lo + _FACTOR_BLOCK)
        unit = weights[block] / norms[block, None]
        largest = np.abs(unit).argmax(axis=1)
        sign[block] = np.where(unit[np.arange(len(unit)), largest] < 0.0, -1.0, 1.0)
        unit *= sign[block, None]
        # rows of one direction share a key: the bits of the rounded direction (-0.0 + 0.0 is
        # 0.0) mixed into one number (rows that collide differ beyond the tolerance and stay)
        bits = (np.round(unit, 9) + 0.0).view(np.uint64)
        key[block] = (bits * mix).sum(axis=1, dtype=np.uint64)  # wraps around, as meant
    _, first, group, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    del key
    group = group.ravel()
    representative = weights[first] / norms[first, None] * sign[first, None]
    scale = np.empty(n)
    held = counts[group] >= 2
    for lo in range(0, n, _FACTOR_BLOCK):
        block = slice(lo, lo + _FACTOR_BLOCK)
        rep = representative[group[block]]
        rows = weights[block]
        scale[block] = np.einsum("ij,ij->i", rows, rep)
        error = np.abs(rows - scale[block, None] * rep).max(axis=1)
        held[block] &= error <= _FACTOR_TOLERANCE * np.abs(rows).max(axis=1)
    used = np.unique(group[held])
    saved = int(held.sum()) * k * 8 - used.size * k * 8 - n * (4 + 8)
    if saved <= 0:
        return np.ascontiguousarray(weights), None, None
    dense = np.flatnonzero(~held)
    slot = np.full(group.max() + 1, -1, dtype=np.intp)
    slot[used] = np.arange(dense.size, dense.size + used.size)
    row_of = np.empty(n, dtype=_COL)
    row_of[dense] = np.arange(dense.size)
    row_of[held] = slot[group[held]]
    scale[~held] = 1.0  # leaves a dense row's value as it is
    rows = np.empty((dense.size + used.size, k))
    rows[: dense.size] = weights[dense]
    rows[dense.size :] = representative[used]
    return rows, row_of, scale


def _csr_times(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, dense: np.ndarray, n_rows: int
) -> np.ndarray:
    """A CSR matrix (n_rows x features) times `dense` (features x outputs).

    Always scipy's own `csr_matvecs`, which sums each row's terms one after another in column
    order, so one post and the same post in a batch get the same bits (as the API promises);
    called directly, it skips the ~20 us of building a `csr_array` for a single post.
    """
    n_out = dense.shape[1]
    if _csr_matvecs is None:
        matrix = sp.csr_array((data, indices, indptr), shape=(n_rows, dense.shape[0]))
        return np.asarray(matrix @ dense)
    out = np.zeros(n_rows * n_out)
    _csr_matvecs(n_rows, dense.shape[0], n_out, indptr, indices, data, dense.ravel(), out)
    return out.reshape(n_rows, n_out)


def _coef(est: Any) -> tuple[np.ndarray, np.ndarray]:
    if sp.issparse(est.coef_):
        raise Unsupported(f"{type(est).__name__} has sparse coefficients")
    coef = np.asarray(est.coef_, dtype=np.float64)
    intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=np.float64), coef.shape[:1])
    return coef.T, intercept.copy()


def _tf(b: _Branch, tf: np.ndarray) -> None:
    """Counts to the vectorizer's term weights before idf, in place (TfidfTransformer)."""
    if b.binary:
        tf.fill(1.0)
    if b.sublinear_tf:
        np.log(tf, out=tf)
        tf += 1.0


def _softmax(x: np.ndarray) -> np.ndarray:
    """`sklearn.utils.extmath.softmax`, in place: the same operations in the same order."""
    x -= x.max(axis=1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=1, keepdims=True)
    return x


def _mean_proba(heads: list[_Head], scores: np.ndarray, n_classes: int) -> np.ndarray:
    """The probabilities of one classifier from its heads' raw outputs."""
    if len(heads) == 1:
        # one calibrated classifier: sklearn's mean (0 + p) / 1 is p itself
        (head,) = heads
        return _head_proba(head, scores[:, head.columns] + head.intercept)
    # CalibratedClassifierCV.predict_proba: the mean over its calibrated classifiers.
    total = np.zeros((scores.shape[0], n_classes))
    for head in heads:
        total += _head_proba(head, scores[:, head.columns] + head.intercept)
    total /= len(heads)
    return total


def _head_proba(head: _Head, raw: np.ndarray) -> np.ndarray:
    """Probabilities from one linear model's raw outputs (decision values or log-likelihoods)."""
    if raw.shape[0] == 1 and head.kind == "temperature":
        if raw.shape[1] > 1:
            return _temperature_one(head, raw)
        value = float(raw[0, 0])
        if math.isfinite(value):
            return _binary_temperature_one(head, value)
    if head.kind == "logreg":
        if head.binary:  # LogisticRegression._predict_proba_lr
            p = expit(raw[:, 0])
            return np.stack([1 - p, p], axis=1)
        return _softmax(raw)
    if head.kind == "naive_bayes+temperature":
        # ComplementNB.predict_proba; for two classes sklearn keeps P(second) and rebuilds 1 - it.
        predictions = np.exp(raw - _logsumexp_rows(raw)[:, None])
        if head.binary:
            predictions = np.concatenate([1 - predictions[:, 1:], predictions[:, 1:]], axis=1)
    else:
        predictions = raw
    # _TemperatureScaling.predict: _convert_to_logits, then softmax(beta * logits)
    if predictions.shape[1] == 1:
        logits = np.concatenate([-predictions, predictions], axis=1)
    elif _looks_like_proba(predictions):
        logits = np.log(predictions + _LOGIT_EPS)
    else:
        logits = predictions
    proba = _softmax(head.beta * logits)
    if _largest(proba) > 1.0:
        proba[(proba > 1.0) & (proba <= 1.0 + _CLIP_ABOVE_ONE)] = 1.0
    return proba


def _temperature_one(head: _Head, raw: np.ndarray) -> np.ndarray:
    """The "temperature" head for one post's decision values, with the operations of the general
    path below (elementwise the same, the same reductions over one row) but fewer calls."""
    if not _logits(raw[0]):
        return _head_proba(head, np.concatenate([raw, raw]))[:1]  # the general path
    _temperature_row(head, raw[0])
    return raw


def _logits(row: np.ndarray) -> bool:
    """Whether one post's decision values are finite and do not look like probabilities
    (`_looks_like_proba`): then they are the temperature scaler's logits as they are."""
    values = row.tolist()
    return math.isfinite(sum(values)) and not (min(values) >= 0 and max(values) <= 1)


def _temperature_row(head: _Head, row: np.ndarray) -> None:
    """`_softmax(head.beta * logits)` of one post's logits, in place, with the general path's
    operations on one row (and its clip of values a rounding above one)."""
    row *= head.beta
    row -= max(row.tolist())
    np.exp(row, out=row)
    row /= row.sum()
    if max(row.tolist()) > 1.0:
        row[(row > 1.0) & (row <= 1.0 + _CLIP_ABOVE_ONE)] = 1.0


def _binary_temperature_one(head: _Head, value: float) -> np.ndarray:
    """The "temperature" head for one post of a two-class model (one decision value), as the
    general path computes it (logits [-value, value], softmax), in plain Python but NumPy's
    exp (the C library's may differ in the last bit, and one post must equal a batch's)."""
    beta = float(head.beta)
    low, high = beta * -value, beta * value
    top = max(low, high)
    low, high = np.exp(np.array([low - top, high - top])).tolist()
    total = low + high
    return np.array([[low / total, high / total]])


def _largest(x: np.ndarray) -> float:
    """x.max(), in plain Python for the few values of one post (a NumPy reduction costs ~2 us)."""
    return max(x.ravel().tolist()) if x.size <= _SMALL else float(x.max())


def _smallest(x: np.ndarray) -> float:
    return min(x.ravel().tolist()) if x.size <= _SMALL else float(x.min())


def _looks_like_proba(x: np.ndarray) -> bool:
    """`_convert_to_logits`'s test for probabilities (over the whole batch, as there)."""
    if _smallest(x) < 0 or _largest(x) > 1:
        return False
    return bool(np.all(np.isclose(x.sum(axis=1), 1.0)))


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """`sklearn.utils._array_api._logsumexp(a, axis=1)` for NumPy input."""
    a_max = a.max(axis=1, keepdims=True)
    index_max = a == a_max
    rest = a.copy()
    rest[index_max] = -np.inf
    m = index_max.sum(axis=1, keepdims=True, dtype=a.dtype)
    shift = np.where(np.isfinite(a_max), a_max, 0)
    s = np.exp(rest - shift).sum(axis=1, keepdims=True, dtype=a.dtype)
    s = np.where(s == 0, s, s / m)
    out: np.ndarray = (np.log1p(s) + np.log(m) + a_max)[:, 0]
    return out
