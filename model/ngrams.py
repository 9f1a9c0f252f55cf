"""Character n-grams inside word boundaries (`analyzer="char_wb"`), cut once per distinct word.

scikit-learn's `char_wb` analyzer cuts every word of every post anew, in Python: on 100,000
posts that is about a third of the features' time. Words repeat (a corpus has far fewer
distinct words than words), so `CharNgramTfidf` cuts each distinct word once per call and
gives exactly scikit-learn's n-grams, in the same order: the same vocabulary, idf and matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer

# Distinct words whose n-grams one `fit`/`transform` call keeps (a word's list is ~1-2 kB; the
# most frequent words come early, so the bound costs little on larger corpora)
WORDS_KEPT = 50_000


def char_wb_ngrams(word: str, ngram_range: tuple[int, int]) -> list[str]:
    """The `char_wb` n-grams of one word, as `_VectorizerMixin._char_wb_ngrams` cuts them."""
    min_n, max_n = ngram_range
    w = " " + word + " "
    w_len = len(w)
    grams = []
    for n in range(min_n, max_n + 1):
        offset = 0
        grams.append(w[offset : offset + n])
        while offset + n < w_len:
            offset += 1
            grams.append(w[offset : offset + n])
        if offset == 0:  # a word shorter than n counts once
            break
    return grams


def char_wb_analyzer(
    preprocess: Callable[[Any], str], ngram_range: tuple[int, int], words_kept: int = 0
) -> Callable[[Any], list[str]]:
    """scikit-learn's `char_wb` analyzer after `preprocess`: each word's n-grams, in order.

    The n-grams of up to `words_kept` distinct words are kept for the analyzer's lifetime, so
    a repeated word is cut once; with 0 every word is cut anew and nothing is held.
    """
    n_range = (int(ngram_range[0]), int(ngram_range[1]))
    kept: dict[str, list[str]] = {}

    def analyze(doc: Any) -> list[str]:
        grams: list[str] = []
        for word in preprocess(doc).split():
            cut = kept.get(word)
            if cut is None:
                cut = char_wb_ngrams(word, n_range)
                if len(kept) < words_kept:
                    kept[word] = cut
            grams += cut
        return grams

    return analyze


class CharNgramTfidf(TfidfVectorizer):
    """`TfidfVectorizer` whose `char_wb` analyzer cuts each distinct word once per call.

    Same parameters and fitted attributes as its parent; any other analyzer is the parent's.
    """

    def build_analyzer(self) -> Callable[[Any], list[str]]:
        if self.analyzer != "char_wb":
            return super().build_analyzer()
        preprocess, decode = self.build_preprocessor(), self.decode
        return char_wb_analyzer(lambda doc: preprocess(decode(doc)), self.ngram_range, WORDS_KEPT)
