"""`CharNgramTfidf` is scikit-learn's char_wb TF-IDF, cut once per distinct word."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from model import ngrams
from model.ngrams import CharNgramTfidf, char_wb_ngrams
from tests.conftest import TINY_CORPUS

ODD = [
    "",
    "a",
    "ab cd",
    "  spasi   ganda\tdan\ttab\nbaris  ",
    "sampahhhh menumpuk!!! di gading cempaka 😡😡 #sampahmenumpuk",
    "ÉÉ ünïcode ß ﬁ",
    "kata kata kata kata berulang berulang",
]


@pytest.mark.parametrize("ngram_range", [(3, 6), (1, 2), (2, 4)])
def test_the_same_vocabulary_idf_and_matrix_as_scikit_learn(
    ngram_range: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ngrams, "WORDS_KEPT", 5)  # past the bound, words are cut every time
    texts = [t for t, _ in TINY_CORPUS] + ODD
    params = {"analyzer": "char_wb", "ngram_range": ngram_range, "sublinear_tf": True}
    ours = CharNgramTfidf(lowercase=False, **params).fit(texts)
    theirs = TfidfVectorizer(lowercase=False, **params).fit(texts)
    assert ours.vocabulary_ == theirs.vocabulary_
    np.testing.assert_array_equal(ours.idf_, theirs.idf_)
    probe = [*ODD, "kata baru yang belum pernah terlihat"]
    a, b = ours.transform(probe), theirs.transform(probe)
    assert (a != b).nnz == 0
    np.testing.assert_array_equal(a.indices, b.indices)


def test_each_word_is_cut_once_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    cut: list[str] = []

    def counting(word: str, ngram_range: tuple[int, int]) -> list[str]:
        cut.append(word)
        return char_wb_ngrams(word, ngram_range)

    monkeypatch.setattr(ngrams, "char_wb_ngrams", counting)
    analyze = CharNgramTfidf(analyzer="char_wb", ngram_range=(3, 6)).build_analyzer()
    grams = analyze("jalan rusak jalan RUSAK jalan")
    assert sorted(cut) == ["jalan", "rusak"]  # lower-cased by the preprocessor first
    assert grams == TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 6)).build_analyzer()(
        "jalan rusak jalan RUSAK jalan"
    )


def test_other_analyzers_are_the_parents() -> None:
    texts = ["jalan rusak parah", "sampah menumpuk di pasar"]
    for analyzer in ("word", "char"):
        ours = CharNgramTfidf(analyzer=analyzer).fit(texts)
        theirs = TfidfVectorizer(analyzer=analyzer).fit(texts)
        assert ours.vocabulary_ == theirs.vocabulary_


def test_char_wb_ngrams_match_sklearn() -> None:
    for ngram_range in [(1, 1), (2, 5), (3, 3), (1, 6)]:
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False)
        analyze = vec.build_analyzer()
        for word in ["a", "ab", "abc", "sampah", "_angka_", "x" * 9]:
            assert char_wb_ngrams(word, ngram_range) == analyze(word)


def test_the_shipped_char_branch_drops_rare_n_grams_by_share_not_count() -> None:
    """n-grams of fewer than one post in 5,000 are left out: a small corpus keeps n-grams seen
    once (the repeat search needs them), one of ~14,000 posts those of fewer than three."""
    from model.pipeline import build_pipeline

    char = dict(build_pipeline().named_steps["features"].transformer_list)["char"]
    filler = [f"w{i:05d}" for i in range(14_000)]  # n-grams of their own, none "qzx" or "vvk"
    rare = ["qzx sampah", "qzx lampu", "vvk air"]
    assert {"vvk", " qzx"} <= set(char.fit(rare + filler[:50]).vocabulary_)  # 53 posts
    vocabulary = char.fit(rare + filler).vocabulary_  # 14,003 posts: three needed
    assert "vvk" not in vocabulary and " qzx" not in vocabulary and "sampah" not in vocabulary
    assert " w0" in vocabulary
    assert " qzx" in char.fit([*rare, "qzx jalan", *filler]).vocabulary_
