"""The fast inference path gives the pipeline's numbers, to 1e-9, for every model it builds from.

The default model is trained once on the whole labeled corpus and checked on every labeled post;
small models cover each classifier, the ablation switches and other vectorizer
hyper-parameters; pipelines the fast path cannot reproduce must fall back to the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from model.artifact import ModelArtifact, load_artifact
from model.fastpath import FastPath, _factorise, word_analyzer
from model.pipeline import CLASSIFIERS, ClassifierName, build_pipeline
from model.recovery import TOKEN
from model.routing import NOT_A_COMPLAINT, Directory, TagPolicy
from model.stem import SastrawiStemmer
from model.text import (
    _REDUP_RE,
    _URL_HINT_RE,
    _URL_RE,
    BREAK_TOKEN,
    TextNormaliser,
    lexicon_phrases,
    load_lexicon,
    normalise_text,
)
from model.triage import Triage
from tests.conftest import DATA_DIR
from training.labels import default_label_files, read_labeled
from training.train import calibration_folds, train_and_save

TOLERANCE = 1e-9

# Texts no labeled post looks like: unknown words, nothing left after normalisation, emoji only,
# punctuation only, placeholders, hashtags, elongation, digits, other scripts, long posts.
ODD_TEXTS = [
    "",
    "   ",
    "😡😡😡🙏",
    "!!! ??? ... ,,,",
    "@pemkot @dinas",
    "https://t.co/abc www.bengkulukota.go.id",
    "qwertyuiop zxcvbnm asdfghjkl",
    "xyzzyx plugh sampahhhh banjirrrr",
    "#sampahmenumpuk #JalanRusak #banjir_lagi",
    "anak2 sekolah 2x 3 hari 12.30 rp50.000",
    "Жители жалуются на мусор",
    "القمامة في الشارع",
    "ｓａｍｐａｈ　menumpuk\u200b\u00a0di\tjalan\nlagi",
    "sampah " * 300,
    "jalan rusak dak diperbaiki, " * 40,
    "a",
    "_angka_ _url_",
]


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _assert_same(fast: FastPath, pipeline: Pipeline, texts: list[str]) -> None:
    """Batch and one-by-one both equal the pipeline to TOLERANCE, with the same labels."""
    expected = pipeline.predict_proba(np.asarray(texts, dtype=object))
    batch = fast.predict_proba(texts)
    single = np.vstack([fast.predict_proba([t]) for t in texts])
    assert _max_diff(batch, expected) <= TOLERANCE
    assert _max_diff(single, expected) <= TOLERANCE
    np.testing.assert_array_equal(single, batch)  # the API promises batch == one by one
    assert list(batch.argmax(axis=1)) == list(expected.argmax(axis=1))


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    data = read_labeled(default_label_files(DATA_DIR))
    return data.texts, data.labels


@pytest.fixture(scope="module")
def default_model(
    corpus: tuple[list[str], list[str]], tmp_path_factory: pytest.TempPathFactory
) -> ModelArtifact:
    """The shipped model, trained once on the whole labeled corpus (no cross-validation)."""
    texts, labels = corpus
    return train_and_save(
        texts,
        labels,
        tmp_path_factory.mktemp("models") / "default",
        data_sha256="corpus",
        data_files=["data/labels"],
        cv_folds=0,
    )


@pytest.fixture(scope="module")
def small_corpus(corpus: tuple[list[str], list[str]]) -> tuple[list[str], list[str]]:
    """25 posts from each of four topics and of posts that are no complaint, and 20 more of
    theirs held out for prediction."""
    texts, labels = corpus
    keep = [*sorted(set(labels) - {NOT_A_COMPLAINT})[:4], NOT_A_COMPLAINT]
    picked: list[int] = []
    for topic in keep:
        picked.extend([i for i, lab in enumerate(labels) if lab == topic][:25])
    return [texts[i] for i in picked], [labels[i] for i in picked]


@pytest.fixture(scope="module")
def held_out(
    corpus: tuple[list[str], list[str]], small_corpus: tuple[list[str], list[str]]
) -> list[str]:
    texts, labels = corpus
    topics = set(small_corpus[1])
    seen = set(small_corpus[0])
    return [t for t, lab in zip(texts, labels, strict=True) if lab in topics and t not in seen][:20]


def _fit(pipeline: Pipeline, data: tuple[list[str], list[str]]) -> Pipeline:
    texts, labels = data
    return pipeline.fit(np.asarray(texts, dtype=object), np.asarray(labels, dtype=object))


# -- the default model on the whole corpus --------------------------------------------------


def test_default_model_agrees_on_every_labeled_post(
    default_model: ModelArtifact, corpus: tuple[list[str], list[str]]
) -> None:
    loaded = load_artifact(default_model.path)  # as served: from disk, caches cold
    stemmer = loaded.pipeline.named_steps["features"].transformer_list[0][1].named_steps["stem"]
    assert stemmer.cache_info().currsize == 0  # type: ignore[attr-defined]
    fast = FastPath(loaded.pipeline)
    assert fast.is_fast, fast.fallback_reason
    assert fast._gate_one_heads is not None  # one post's heads in fewer calls (`_gate_one`)
    # loading warmed the stemmer with the words training saw
    known = loaded.pipeline.named_steps["normalise"].known_words_
    warmed = stemmer.cache_info().currsize  # type: ignore[attr-defined]
    assert warmed >= sum(1 for w in known if len(w) > 3 and w.isalpha())
    texts, _ = corpus
    _assert_same(fast, loaded.pipeline, texts)


def test_default_model_agrees_on_odd_texts(default_model: ModelArtifact) -> None:
    fast = FastPath(default_model.pipeline)
    _assert_same(fast, default_model.pipeline, ODD_TEXTS)
    # a batch mixing odd and ordinary posts, in several chunks
    mixed = ODD_TEXTS * 40
    expected = default_model.pipeline.predict_proba(np.asarray(mixed, dtype=object))
    assert _max_diff(fast.predict_proba(mixed), expected) <= TOLERANCE


def test_empty_after_normalisation_gets_the_intercept_only(default_model: ModelArtifact) -> None:
    fast = FastPath(default_model.pipeline)
    assert fast.normalise(["!!! ...", ""]) == ["", ""]
    proba = fast.predict_proba(["!!! ...", ""])
    np.testing.assert_allclose(proba[0], proba[1], atol=0)
    expected = default_model.pipeline.predict_proba(np.asarray(["!!! ..."], dtype=object))
    assert _max_diff(proba[:1], expected) <= TOLERANCE


def test_word_caches_are_bounded(default_model: ModelArtifact) -> None:
    fast = FastPath(default_model.pipeline, word_cache_size=50)
    assert fast.is_fast
    fast.predict_proba([f"kata{i}x lain{i}y" for i in range(200)])
    for branch in fast._branches:
        if branch.word_columns is not None:
            info = branch.word_columns.cache_info()  # type: ignore[attr-defined]
            assert info.maxsize == 50
            assert info.currsize <= 50
    assert fast._per_token is not None
    assert fast._per_token.entry.cache_info().currsize <= 50  # type: ignore[attr-defined]
    (opening,) = [b for b in fast._branches if b.opening]
    assert opening.lead_columns is not None
    assert opening.lead_columns.cache_info() == (12, opening.lead_columns.cache_info().currsize)
    assert opening.lead_columns.cache_info().currsize <= 12


def test_triage_uses_the_fast_path_with_the_pipelines_numbers(
    default_model: ModelArtifact, corpus: tuple[list[str], list[str]]
) -> None:
    triage = Triage(default_model, Directory.from_dir(DATA_DIR), TagPolicy())
    assert triage.fast.is_fast
    texts = corpus[0][::50] + ODD_TEXTS
    normalised, proba = triage.predict_proba(texts)
    pipeline = default_model.pipeline
    assert normalised == [str(t) for t in pipeline.named_steps["normalise"].transform(texts)]
    expected = pipeline.predict_proba(np.asarray(texts, dtype=object))
    assert _max_diff(proba, expected) <= TOLERANCE


def test_triage_reads_areas_clause_by_clause(default_model: ModelArtifact) -> None:
    triage = Triage(default_model, Directory.from_dir(DATA_DIR), TagPolicy())
    text = "Saluran di Jl. Salak Raya, Lingkar Timur, penuh lumpur. Saya warga Berkas. Saya kesal"
    (clauses,) = triage.fast.normalise_clauses([text])
    assert clauses.count(BREAK_TOKEN) == 4
    (result,) = triage.classify([text])
    # the model reads the text without breaks, the area resolver with them
    assert result.normalised == triage.fast.normalise([text])[0]
    assert BREAK_TOKEN not in result.normalised
    assert (result.area.kecamatan, result.area.kelurahan) == ("Singaran Pati", "Lingkar Timur")
    assert result.area.ambiguous  # Berkas is named too, a clause later


hostile_text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=120),
    st.lists(
        st.sampled_from(
            ["sampah", "jalan", "dak", "Rusak", "2", "#", "@", ".", " ", "\n", "😡", "aaa", "x"]
        ),
        max_size=40,
    ).map("".join),
)


@pytest.fixture(scope="module")
def default_fast(default_model: ModelArtifact) -> FastPath:
    return FastPath(default_model.pipeline)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(hostile_text, min_size=1, max_size=4))
def test_default_model_agrees_on_generated_text(
    default_model: ModelArtifact, default_fast: FastPath, texts: list[str]
) -> None:
    fast = default_fast
    expected = default_model.pipeline.predict_proba(np.asarray(texts, dtype=object))
    assert _max_diff(fast.predict_proba(texts), expected) <= TOLERANCE
    assert _max_diff(np.vstack([fast.predict_proba([t]) for t in texts]), expected) <= TOLERANCE


# -- each classifier and each ablation switch, on a small corpus ----------------------------


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_each_classifier(
    classifier: ClassifierName,
    small_corpus: tuple[list[str], list[str]],
    held_out: list[str],
) -> None:
    folds = calibration_folds(small_corpus[1])
    pipeline = _fit(build_pipeline(classifier, calibration_cv=folds), small_corpus)
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    _assert_same(fast, pipeline, held_out + small_corpus[0][:10] + ODD_TEXTS)


@pytest.mark.parametrize(
    "switches",
    [
        {"normalise": False},
        {"stem": False},
        {"char_ngrams": False},
        {"stem": False, "char_ngrams": False},
        {"opening_words": False},
        {"negation": False},
        {"stem": False, "negation": False},
        {"recovery": False},
        {"negation": False, "recovery": False},
        {"stem": False, "char_ngrams": False, "opening_words": False},
    ],
    ids=[
        "no-normalise",
        "no-stem",
        "no-char",
        "no-char-no-stem",
        "no-opening",
        "no-negation",
        "no-stem-no-negation",
        "no-recovery",
        "no-negation-no-recovery",
        "words-only",
    ],
)
def test_ablation_switches(
    switches: dict[str, bool],
    small_corpus: tuple[list[str], list[str]],
    held_out: list[str],
) -> None:
    pipeline = _fit(build_pipeline("svc", calibration_cv=3, **switches), small_corpus)
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    _assert_same(fast, pipeline, held_out + ODD_TEXTS)


@pytest.mark.parametrize("classifier", CLASSIFIERS)
@pytest.mark.parametrize("complaints_only", [True, False], ids=["two-topics", "topic-and-none"])
def test_two_classes(
    classifier: ClassifierName, complaints_only: bool, small_corpus: tuple[list[str], list[str]]
) -> None:
    """Binary problems take other code paths in sklearn (one decision column, P(second) only):
    two topics (no gate, a binary topic model), or one topic and posts that are no complaint
    (a binary gate, no topic model)."""
    texts, labels = small_corpus
    topics = sorted(set(labels) - {NOT_A_COMPLAINT})
    two = topics[:2] if complaints_only else [topics[0], NOT_A_COMPLAINT]
    keep = [i for i, lab in enumerate(labels) if lab in two]
    data = ([texts[i] for i in keep], [labels[i] for i in keep])
    pipeline = _fit(build_pipeline(classifier, calibration_cv=3), data)
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    _assert_same(fast, pipeline, texts[::7] + ODD_TEXTS)


# -- hyper-parameters someone may tune --------------------------------------------------------


def _custom(word: dict[str, object], char: dict[str, object] | None, **union: object) -> Pipeline:
    word_args: dict[str, object] = {"analyzer": "word", "token_pattern": r"\S+", "lowercase": False}
    word_args.update(word)
    branches: list[tuple[str, object]] = [
        ("word", Pipeline([("stem", SastrawiStemmer()), ("tfidf", TfidfVectorizer(**word_args))]))
    ]
    if char is not None:
        char_args: dict[str, object] = {"analyzer": "char_wb", "lowercase": False}
        char_args.update(char)
        branches.append(("char", TfidfVectorizer(**char_args)))
    return Pipeline(
        [
            ("normalise", TextNormaliser()),
            ("features", FeatureUnion(branches, **union)),  # type: ignore[arg-type]
            (
                "classify",
                CalibratedClassifierCV(
                    LinearSVC(class_weight="balanced"), method="temperature", cv=3, ensemble=False
                ),
            ),
        ]
    )


VARIANTS: dict[str, Callable[[], Pipeline]] = {
    "unigrams": lambda: _custom({"ngram_range": (1, 1)}, {"ngram_range": (2, 5)}),
    "trigrams-min-df": lambda: _custom({"ngram_range": (1, 3), "min_df": 2}, {"min_df": 3}),
    "bigrams-only": lambda: _custom({"ngram_range": (2, 2)}, {"ngram_range": (3, 4)}),
    "char-not-wb": lambda: _custom({}, {"analyzer": "char", "ngram_range": (1, 4)}),
    "plain-tf-l1": lambda: _custom(
        {"sublinear_tf": False, "norm": "l1"}, {"sublinear_tf": True, "norm": "l2"}
    ),
    "binary-no-idf-no-norm": lambda: _custom(
        {"binary": True, "use_idf": False, "norm": None}, {"binary": True, "smooth_idf": False}
    ),
    "default-tokens-lowercase-stopwords": lambda: _custom(
        {"token_pattern": r"(?u)\b\w\w+\b", "lowercase": True, "stop_words": ["di", "yang"]},
        {"lowercase": True, "strip_accents": "unicode"},
    ),
    "max-features-max-df": lambda: _custom(
        {"max_features": 300, "max_df": 0.5}, {"max_features": 500}
    ),
    "branch-weights": lambda: _custom({}, {}, transformer_weights={"word": 2.0, "char": 0.5}),
    "words-only-trigrams": lambda: _custom({"ngram_range": (1, 3)}, None),
    "opening-three-words-bigrams-l1": lambda: build_pipeline("svc", calibration_cv=3).set_params(
        features__opening__lead__n_words=3,
        features__opening__tfidf__ngram_range=(1, 2),
        features__opening__tfidf__norm="l1",
        features__transformer_weights={"opening": 2.0, "char": 0.7},
    ),
    "ensemble-calibration": lambda: build_pipeline("svc", calibration_cv=3).set_params(
        classify__gate__ensemble=True, classify__topics__ensemble=True
    ),
    "ensemble-naive-bayes": lambda: build_pipeline("cnb", calibration_cv=3).set_params(
        classify__gate__ensemble=True, classify__topics__ensemble=True
    ),
    "ensemble-topics-only": lambda: build_pipeline("svc", calibration_cv=3).set_params(
        classify__topics__ensemble=True
    ),
    "flat-without-gate": lambda: build_pipeline("svc", calibration_cv=3, gate=False),
    # negation marked before stemming: not the per-token layout, the general path
    "negation-before-stem": lambda: _negation_first(build_pipeline("svc", calibration_cv=3)),
    # the recovery mark before the negation marks: the general path too
    "recovery-before-negation": lambda: _recovery_first(build_pipeline("svc", calibration_cv=3)),
    "flat-ensemble-without-gate": lambda: build_pipeline(
        "svc", calibration_cv=3, gate=False
    ).set_params(classify__ensemble=True),
}


def _negation_first(pipeline: Pipeline) -> Pipeline:
    return _word_steps(pipeline, "negate", "stem", "recover", "tfidf")


def _recovery_first(pipeline: Pipeline) -> Pipeline:
    return _word_steps(pipeline, "stem", "recover", "negate", "tfidf")


def _word_steps(pipeline: Pipeline, *names: str) -> Pipeline:
    word = pipeline.named_steps["features"].transformer_list[0][1]
    steps = dict(word.steps)
    word.steps = [(name, steps[name]) for name in names]
    return pipeline


NEGATED = [
    "petugas tidak ramah",
    "bantuan tidak tepat sasaran, belum cair juga",
    "sampah belum diangkut tidak tidak kurang",
    "tidak _angka_ hari listrik tidak menyala tidak",
    "jalan tidak qzxv tidak katabaru rusak bukan main",
    "tidak",
]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_vectorizer_and_calibration_variants(
    name: str, small_corpus: tuple[list[str], list[str]], held_out: list[str]
) -> None:
    pipeline = _fit(VARIANTS[name](), small_corpus)
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    _assert_same(fast, pipeline, held_out + ODD_TEXTS)


def test_the_opening_words_are_added_beside_the_per_token_plan(
    small_corpus: tuple[list[str], list[str]],
) -> None:
    pipeline = _fit(build_pipeline("svc", calibration_cv=3), small_corpus)
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    assert fast._per_token is not None
    assert [b.name for b in fast._beside_per_token] == ["opening"]
    # a post whose opening decides between two readings gets the pipeline's numbers
    _assert_same(
        fast,
        pipeline,
        [
            "terima kasih sampah sudah diangkut",
            "@dlh terima kasih, sampah sudah diangkut",
            "sampah terima kasih",
            "mau tanya jadwal sampah",
        ],
    )


RECOVERED = [
    "lampu jalan sudah menyala lagi",
    "air kini lancar, terima kasih",
    "jalan sudah tidak diperbaiki, sudah tidak menyala",
    "sudah",
    "sudah qzxv katabaru nyala",
    "akhirnya sampah diangkut sudah diangkut sudah",
]


@pytest.mark.parametrize(
    ("extra", "terms", "texts", "step"),
    [
        # posts whose negated words are in the vocabulary, marked, as unigrams and bigrams
        (
            ["pelayanan tidak ramah sama sekali", "air belum mengalir dari kemarin"],
            {"neg_ramah", "neg_alir", "tidak neg_ramah"},
            NEGATED,
            "_negation",
        ),
        # posts that say a service works again: the marker's token, alone and after a word
        (
            ["lampu sudah menyala lagi", "air pdam kini lancar"],
            {TOKEN, f"lancar {TOKEN}"},
            RECOVERED,
            "_recovery",
        ),
    ],
    ids=["negation", "recovery"],
)
def test_the_word_branch_markers_are_read_in_the_per_token_plan(
    extra: list[str],
    terms: set[str],
    texts: list[str],
    step: str,
    small_corpus: tuple[list[str], list[str]],
) -> None:
    corpus, labels = small_corpus
    pipeline = _fit(
        build_pipeline("svc", calibration_cv=3), (corpus + extra * 3, labels + labels[:2] * 3)
    )
    word = pipeline.named_steps["features"].transformer_list[0][1]
    assert terms <= set(word[-1].vocabulary_)
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    assert fast._per_token is not None and getattr(fast._per_token, step) is not None
    _assert_same(fast, pipeline, texts + extra)
    for text in texts:  # one post at a time, too
        _assert_same(fast, pipeline, [text])
    if step == "_negation":
        assert fast._per_token.negated.cache_info().currsize > 0


def test_bigrams_are_indexed_once_by_their_two_words(
    small_corpus: tuple[list[str], list[str]],
) -> None:
    """Every word bigram is kept once, by its first then its second word, with its column, and
    not as a joined string too; the words are the vocabulary's own unigram strings."""
    pipeline = _fit(build_pipeline("svc", calibration_cv=3), small_corpus)
    fast = FastPath(pipeline)
    assert fast.is_fast and fast._per_token is not None
    (word,) = [b for b in fast._branches if b.layout == "words"]
    pairs = word.pairs
    assert pairs is not None and fast._per_token._pairs is pairs
    vectorizer = pipeline.named_steps["features"].transformer_list[0][1].named_steps["tfidf"]
    assert word.start == 0 and vectorizer.ngram_range == (1, 2)
    bigrams = {t: j for t, j in vectorizer.vocabulary_.items() if " " in t}
    assert bigrams
    indexed = {
        f"{a} {b}": int(fast._original[j])  # the vectorizer's column of each column here
        for a, following in pairs.items()
        for b, j in following.items()
    }
    assert indexed == bigrams
    assert not any(" " in t for t in word.vocabulary)
    assert sorted(word.terms()) == sorted(vectorizer.vocabulary_)
    unigrams = {t: t for t in word.vocabulary}
    for first, following in pairs.items():
        assert unigrams.get(first, first) is first
        for second in following:
            assert unigrams.get(second, second) is second
    assert sum(first in unigrams for first in pairs) > len(pairs) // 2
    # the general path (a stem that would split differently) finds bigrams there too
    stem = word.text_steps[0]
    # two different words that stem to themselves
    bigram = next(t for t in sorted(bigrams) if stem(t) == t and len(set(t.split())) == 2)
    parts: list[bytes] = []
    word.add_columns(f"{bigram} {bigram} qzxv", parts)
    found = np.frombuffer(b"".join(parts), dtype=np.int32)
    columns = sorted(fast._original[found].tolist())
    vocabulary = vectorizer.vocabulary_
    grams = word_analyzer(vectorizer)(f"{bigram} {bigram} qzxv")
    assert columns == sorted(vocabulary[g] for g in grams if g in vocabulary)
    assert columns.count(bigrams[bigram]) == 2


def test_columns_are_numbered_most_frequent_first_within_each_branch(
    small_corpus: tuple[list[str], list[str]],
) -> None:
    """Each branch's weight rows are held in idf order (the rows most posts read lie together),
    within the branch's own range; `_original` maps them back to the vectorizer's columns."""
    pipeline = _fit(build_pipeline("svc", calibration_cv=3), small_corpus)
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    union = pipeline.named_steps["features"]
    for b, (_, branch) in zip(fast._branches, union.transformer_list, strict=True):
        vectorizer = branch.steps[-1][1] if isinstance(branch, Pipeline) else branch
        held = slice(b.start, b.start + b.size)
        idf = fast._idf(np.arange(b.start, b.start + b.size))
        assert np.all(np.diff(idf) >= 0)  # most frequent first
        original = fast._original[held]
        assert sorted(original.tolist()) == list(range(b.start, b.start + b.size))
        np.testing.assert_array_equal(idf, vectorizer.idf_[original - b.start])
        assert not np.array_equal(original, np.arange(b.start, b.start + b.size))
        for term, j in list(b.vocabulary.items())[:50]:
            assert vectorizer.vocabulary_[term] == original[j - b.start] - b.start


def _rebuilt(rows: np.ndarray, row_of: np.ndarray | None, scale: np.ndarray | None) -> np.ndarray:
    """Each column's weights from `_factorise`'s output."""
    assert row_of is not None and scale is not None
    rebuilt: np.ndarray = rows[row_of] * scale[:, None]
    return rebuilt


def test_rows_that_are_multiples_of_one_direction_are_held_once() -> None:
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(40, 16))
    group = rng.integers(0, 40, size=3000)
    multiples = directions[group] * rng.uniform(-2.0, 2.0, size=(3000, 1))
    own = rng.normal(size=(500, 16))  # rows of their own direction
    weights = np.vstack([multiples, own, np.zeros((200, 16))])
    weights = weights[rng.permutation(len(weights))]
    rows, row_of, scale = _factorise(weights.copy())
    assert rows.shape[0] <= 40 + 500 + 1  # a direction, each own row, the zero rows
    np.testing.assert_allclose(_rebuilt(rows, row_of, scale), weights, rtol=0, atol=1e-12)
    # a row of its own is held as it is, its scale exactly 1
    assert row_of is not None and scale is not None
    for i in np.flatnonzero(np.isin(weights, own).all(axis=1))[:20]:
        assert scale[i] == 1.0 and np.array_equal(rows[row_of[i]], weights[i])


def test_rows_of_no_shared_direction_stay_as_they_are() -> None:
    weights = np.random.default_rng(4).normal(size=(300, 16))
    rows, row_of, scale = _factorise(weights.copy())
    assert row_of is None and scale is None
    assert np.array_equal(rows, weights)


def test_n_grams_of_one_post_share_one_weight_row(
    small_corpus: tuple[list[str], list[str]],
) -> None:
    """The fitted model's word n-grams seen in one post are held as one row per post."""
    pipeline = _fit(build_pipeline("svc", calibration_cv=3), small_corpus)
    fast = FastPath(pipeline)
    assert fast.is_fast and fast._row_of is not None and fast._scale is not None
    assert fast._weights.shape[0] < fast.n_features
    classify = pipeline.named_steps["classify"]
    assert isinstance(classify.topics_, CalibratedClassifierCV)
    # the topic model's coefficients, in the fast path's column order, rebuilt from the rows
    svc = classify.topics_.calibrated_classifiers_[0].estimator
    coef = svc.coef_.T[fast._original]
    rebuilt = _rebuilt(fast._weights, fast._row_of, fast._scale)
    folded = fast._folded(np.arange(fast.n_features))
    topic_part = rebuilt[:, : coef.shape[1]] / folded[:, None]
    np.testing.assert_allclose(topic_part, coef, rtol=1e-9, atol=1e-12)


def test_char_wb_analyzer_matches_sklearn() -> None:
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True)
    vec.fit(["Sampah  menumpuk\tdi jalan", "a bb ccc"])
    ours, theirs = word_analyzer(vec), vec.build_analyzer()
    for text in ["Sampah  menumpuk\tdi  jalan ", "", "a", " x\n y ", "ÉCOLE bb", "ab abc abcdef"]:
        assert ours(text) == theirs(text)


# -- what the fast path does not reproduce, it leaves to the pipeline ------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"classify": CalibratedClassifierCV(LinearSVC(), method="sigmoid", cv=3)},
        {"classify": LinearSVC()},  # no predict_proba: sklearn itself raises, so must we
        {"features__char__dtype": np.float32},
    ],
    ids=["sigmoid-calibration", "no-probabilities", "float32-features"],
)
def test_unsupported_steps_fall_back_to_the_pipeline(
    change: dict[str, object], small_corpus: tuple[list[str], list[str]], held_out: list[str]
) -> None:
    pipeline = _fit(build_pipeline("svc", calibration_cv=3).set_params(**change), small_corpus)
    fast = FastPath(pipeline)
    assert not fast.is_fast
    assert fast.fallback_reason
    texts = held_out[:5]
    if not hasattr(pipeline, "predict_proba"):
        with pytest.raises(AttributeError):
            fast.predict_proba(texts)
        return
    np.testing.assert_array_equal(
        fast.predict_proba(texts), pipeline.predict_proba(np.asarray(texts, dtype=object))
    )


def test_a_disagreement_found_on_load_falls_back(small_corpus: tuple[list[str], list[str]]) -> None:
    class Off(FastPath):
        def _head_proba(self, scores: np.ndarray) -> np.ndarray:
            return super()._head_proba(scores) + 1e-6

    pipeline = _fit(build_pipeline("svc", calibration_cv=3), small_corpus)
    fast = Off(pipeline)
    assert not fast.is_fast
    assert "differs from the pipeline" in (fast.fallback_reason or "")
    texts = small_corpus[0][:4]
    np.testing.assert_array_equal(
        fast.predict_proba(texts), pipeline.predict_proba(np.asarray(texts, dtype=object))
    )


def test_a_stem_that_would_split_differently_takes_the_general_path(
    small_corpus: tuple[list[str], list[str]],
) -> None:
    """A stem that is empty or holds a space re-splits differently; exactness must hold anyway."""
    pipeline = _fit(build_pipeline("svc", calibration_cv=3), small_corpus)
    stemmer = pipeline.named_steps["features"].transformer_list[0][1].named_steps["stem"]
    real = stemmer._stem_word()
    odd = {"sampah": "", "jalanan": "jalan an"}
    stemmer._cached = lambda w: odd.get(w, real(w))
    fast = FastPath(pipeline)
    assert fast.is_fast
    assert fast._per_token is not None
    assert fast._per_token.columns("sampah menumpuk") is None
    assert fast._per_token.columns("jalanan rusak") is None
    _assert_same(fast, pipeline, ["sampah menumpuk di jalanan", "jalanan rusak", "banjir lagi"])


# -- the normaliser's shortcuts change nothing -----------------------------------------------


def test_normaliser_shortcuts_give_the_plain_result(corpus: tuple[list[str], list[str]]) -> None:
    """The lexicon index and the cached formal forms change nothing, only the time; typo
    correction, cached per word, gives the plain result corrected word by word."""
    normaliser = TextNormaliser(correct_typos=False).fit(corpus[0])
    correcting = TextNormaliser().fit(corpus[0])
    typos = correcting._typos()
    assert typos is not None
    lexicon, known = normaliser.lexicon_, normaliser._known()
    assert lexicon_phrases(lexicon) == lexicon_phrases(load_lexicon())
    extra = [
        " ".join(lexicon),
        "cak mano ni dak ado yg ngangkut la lamo nian, mati lampu",
        "ngumpulin namonyo dijadiin nyerang nolak cobain mato",
    ]
    corrected = 0
    for text in corpus[0] + ODD_TEXTS + extra:
        plain = normalise_text(text, lexicon, known)  # no index, no cache
        assert normaliser.normalise_one(text) == plain
        assert normaliser.normalise_one(text) == plain  # from the warm cache too
        assert str(normaliser.transform([text])[0]) == plain
        assert normalise_text(text) == normalise_text(text, load_lexicon(), None, None)
        assert correcting.normalise_one(text) == typos.text(plain)
        assert str(correcting.transform([text])[0]) == typos.text(plain)
        assert correcting.normalise_clauses_one(text) == normaliser.normalise_clauses_one(text)
        corrected += typos.text(plain) != plain
    assert corrected > 0  # the lexicon's own forms hold words the corpus never wrote


url_piece = st.sampled_from(
    [
        "http://",
        "https://",
        "www.",
        ".com",
        ".id",
        ".co",
        ".net",
        ".org",
        ".ly",
        "a",
        ".",
        "/",
        "-",
        "_",
        " ",
        "x.y",
        "2",
    ]
)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.lists(url_piece, max_size=20).map("".join), st.text(max_size=60)))
def test_every_url_holds_the_hint_that_lets_posts_skip_the_url_pattern(text: str) -> None:
    if _URL_RE.search(text):
        assert _URL_HINT_RE.search(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(exclude_characters="2", exclude_categories=("Cs",)), max_size=60))
def test_reduplication_needs_the_digit_two(text: str) -> None:
    """Posts without a "2" skip the reduplication pattern."""
    assert _REDUP_RE.search(text.lower()) is None


def test_no_posts_give_no_rows(tiny_model: ModelArtifact) -> None:
    fast = FastPath(tiny_model.pipeline)
    assert fast.predict_proba([]).shape == (0, len(tiny_model.pipeline.classes_))


@pytest.mark.parametrize("odd", ["probabilities", "infinite"])
def test_one_post_takes_the_general_path_where_the_batch_path_decides(
    tiny_model: ModelArtifact, odd: str
) -> None:
    """`_gate_one` hands one post to the general path where the batch path would treat the
    decision values differently: values that look like probabilities, or that are not finite.
    One post still gets the bits it gets in a batch."""
    fast = FastPath(tiny_model.pipeline)
    assert fast.is_fast and fast._gate_one_heads is not None
    head, gate_head = fast._gate_one_heads
    fast._weights = np.zeros_like(fast._weights)  # every post's values are the intercepts
    if odd == "probabilities":
        n = head.columns.stop - head.columns.start
        head.intercept = np.full(n, 1.0 / n)
    else:
        gate_head.intercept = np.array([np.inf])
    texts = ["sampah menumpuk", "jalan rusak", ""]
    scores = fast._scores_one(fast._columns(fast.normalise(texts[:1])[0]))
    assert fast._gate_one(scores) is None
    with np.errstate(invalid="ignore"):  # infinity minus infinity, as in the batch path
        batch = fast.predict_proba(texts)
        single = np.vstack([fast.predict_proba([t]) for t in texts])
    np.testing.assert_array_equal(single, batch)
