from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from model.artifact import (
    ArtifactError,
    ModelArtifact,
    latest_version,
    load_artifact,
    save_artifact,
)
from tests.conftest import TINY_CORPUS


def _copy(artifact: ModelArtifact, tmp_path: Path) -> Path:
    target = tmp_path / artifact.path.name
    shutil.copytree(artifact.path, target)
    return target


def test_round_trip_gives_identical_predictions(tiny_model: ModelArtifact) -> None:
    texts = np.asarray([t for t, _ in TINY_CORPUS] + ["kalimat baru sama sekali"], dtype=object)
    loaded = load_artifact(tiny_model.path)
    assert loaded.version == tiny_model.version
    np.testing.assert_array_equal(
        loaded.pipeline.predict_proba(texts), tiny_model.pipeline.predict_proba(texts)
    )
    # batch equals one by one
    one_by_one = np.vstack([loaded.pipeline.predict_proba(texts[i : i + 1]) for i in range(3)])
    np.testing.assert_allclose(one_by_one, loaded.pipeline.predict_proba(texts[:3]), atol=1e-12)
    # the tiny model learned its corpus
    assert list(loaded.pipeline.predict(texts[:-1])) == [label for _, label in TINY_CORPUS]


def test_metadata_records_what_is_needed(tiny_model: ModelArtifact) -> None:
    meta = json.loads((tiny_model.path / "metadata.json").read_text())
    for key in ("version", "labels", "artifact_sha256", "versions", "created_at", "data_sha256"):
        assert key in meta
    assert set(meta["versions"]) >= {"python", "scikit-learn", "PySastrawi"}


def test_refuses_tampered_artifact_without_unpickling(
    tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    target = _copy(tiny_model, tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    import pickle

    (target / "model.joblib").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ArtifactError, match="does not match"):
        load_artifact(target)
    assert not marker.exists()


def test_refuses_truncated_artifact(tiny_model: ModelArtifact, tmp_path: Path) -> None:
    target = _copy(tiny_model, tmp_path)
    data = (target / "model.joblib").read_bytes()
    (target / "model.joblib").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="does not match"):
        load_artifact(target)


def test_refuses_other_sklearn_version(tiny_model: ModelArtifact, tmp_path: Path) -> None:
    target = _copy(tiny_model, tmp_path)
    meta = json.loads((target / "metadata.json").read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    (target / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"scikit-learn 0\.24\.2"):
        load_artifact(target)


def test_never_overwrites_a_version(tiny_model: ModelArtifact) -> None:
    with pytest.raises(ArtifactError, match="never overwritten"):
        save_artifact(tiny_model.pipeline, tiny_model.path, {})


def test_latest_version_is_newest_name(tmp_path: Path) -> None:
    assert latest_version(tmp_path) is None
    for name in ("20260101T000000000000Z", "20260301T000000000000Z", "junk"):
        (tmp_path / name).mkdir()
    for name in ("20260101T000000000000Z", "20260301T000000000000Z"):
        (tmp_path / name / "metadata.json").write_text("{}")
    assert latest_version(tmp_path) == tmp_path / "20260301T000000000000Z"
