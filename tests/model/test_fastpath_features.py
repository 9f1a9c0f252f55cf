"""FastPath.features gives the pipeline's own feature rows (used for repeat similarity)."""

from __future__ import annotations

import numpy as np

from model.artifact import ModelArtifact
from model.fastpath import FastPath
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


def test_fallback_features_come_from_the_pipeline(tiny_model: ModelArtifact) -> None:
    fast = FastPath(tiny_model.pipeline)
    fast.fallback_reason = "forced for the test"
    normalised = fast.normalise(["sampah menumpuk"])
    expected = tiny_model.pipeline.named_steps["features"].transform(
        np.asarray(normalised, dtype=object)
    )
    np.testing.assert_array_equal(fast.features(normalised).toarray(), expected.toarray())
