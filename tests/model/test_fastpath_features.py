"""FastPath.features gives the pipeline's own feature rows (used for repeat similarity)."""

from __future__ import annotations

import gc
import pickle
import weakref

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from model.artifact import ModelArtifact
from model.fastpath import CHUNK, FastPath
from tests.conftest import TINY_CORPUS


def test_features_equal_the_pipeline_feature_step(tiny_model: ModelArtifact) -> None:
    pipeline = tiny_model.pipeline
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    texts = [t for t, _ in TINY_CORPUS] + ["kata yang belum pernah dilihat", "", "😡😡"]
    normalised = fast.normalise(texts)
    expected = pipeline.named_steps["features"].transform(np.asarray(normalised, dtype=object))
    got = fast.features(normalised)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=0, atol=1e-12)


def _without_opening(pipeline: object, matrix: np.ndarray) -> np.ndarray:
    """`matrix` with the opening-words branch's block (the last) set to zero."""
    union = pipeline.named_steps["features"]  # type: ignore[attr-defined]
    name, branch = union.transformer_list[-1]
    assert name == "opening"
    size = len(branch.named_steps["tfidf"].vocabulary_)
    out = matrix.copy()
    out[:, out.shape[1] - size :] = 0.0
    return out


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "fallback"])
def test_content_features_leave_the_opening_words_out(
    tiny_model: ModelArtifact, monkeypatch: pytest.MonkeyPatch, fast_path: bool
) -> None:
    """Repeats are compared on what posts say, not on how they open ("tolong", "terima kasih")."""
    if not fast_path:
        monkeypatch.setattr(FastPath, "_verify", lambda self: "forced for the test")
    pipeline = tiny_model.pipeline
    fast = FastPath(pipeline)
    assert fast.is_fast is fast_path
    texts = ["tolong sampah menumpuk", "terima kasih, sampah menumpuk", "", "😡 jalan"]
    normalised = fast.normalise(texts)
    full = pipeline.named_steps["features"].transform(np.asarray(normalised, dtype=object))
    got = fast.features(normalised, content_only=True)
    assert got.shape == full.shape
    expected = _without_opening(pipeline, full.toarray())
    assert (expected != full.toarray()).any()  # the opening block was there to leave out
    np.testing.assert_allclose(got.toarray(), expected, rtol=0, atol=1e-12)


def test_fallback_features_come_from_the_pipeline(
    tiny_model: ModelArtifact, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FastPath, "_verify", lambda self: "forced for the test")
    fast = FastPath(tiny_model.pipeline)
    assert not fast.is_fast
    normalised = fast.normalise(["sampah menumpuk"])
    expected = tiny_model.pipeline.named_steps["features"].transform(
        np.asarray(normalised, dtype=object)
    )
    np.testing.assert_array_equal(fast.features(normalised).toarray(), expected.toarray())


def test_on_the_fast_path_the_pipeline_is_not_kept(tiny_model: ModelArtifact) -> None:
    """A server holds one copy of the model: what the fast path derived, not the pipeline too."""
    pipeline = pickle.loads(pickle.dumps(tiny_model.pipeline))
    classifier = weakref.ref(pipeline.named_steps["classify"])
    features = weakref.ref(pipeline.named_steps["features"])
    # nor any branch's vectorizer (sklearn's char_wb analyzer holds its vectorizer's methods)
    vectorizers = [
        weakref.ref(step)
        for _, branch in pipeline.named_steps["features"].transformer_list
        for step in ([s for _, s in branch.steps] if isinstance(branch, Pipeline) else [branch])
        if isinstance(step, TfidfVectorizer)
    ]
    assert {ref().analyzer for ref in vectorizers} >= {"word", "char_wb"}  # type: ignore[union-attr]
    fast = FastPath(pipeline)
    assert fast.is_fast, fast.fallback_reason
    del pipeline
    gc.collect()
    assert classifier() is None and features() is None
    assert [ref() for ref in vectorizers] == [None] * len(vectorizers)
    expected = tiny_model.pipeline.predict_proba(np.asarray(["sampah menumpuk"], dtype=object))
    np.testing.assert_allclose(fast.predict_proba(["sampah menumpuk"]), expected, atol=1e-12)


def test_features_of_many_posts_are_each_posts_own(tiny_model: ModelArtifact) -> None:
    """Rows are computed a chunk of posts at a time: more posts than a chunk, posts without a
    known word and a chunk without any give each post the row it gets alone, to the bit."""
    fast = FastPath(tiny_model.pipeline)
    assert fast.is_fast, fast.fallback_reason
    texts = [t for t, _ in TINY_CORPUS] + ["", "qzxv", "tolong sampah menumpuk"]
    many = texts * (2 * CHUNK // len(texts) + 1) + [""] * (CHUNK + 3) + texts[:5]
    normalised = fast.normalise(many)
    full = tiny_model.pipeline.named_steps["features"].transform(
        np.asarray(normalised, dtype=object)
    )
    np.testing.assert_allclose(
        fast.features(normalised).toarray(), full.toarray(), rtol=0, atol=1e-12
    )
    for content_only in (False, True):
        got = fast.features(normalised, content_only=content_only)
        assert got.shape == (len(many), fast.n_features)
        alone = sp.vstack([fast.features([t], content_only=content_only) for t in normalised])
        np.testing.assert_array_equal(got.toarray(), alone.toarray())
        assert got.has_sorted_indices
    assert fast.features([]).shape == (0, fast.n_features)
