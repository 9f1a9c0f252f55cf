"""Saving and loading the model artifact: one pipeline file plus `metadata.json`.

A joblib file can run arbitrary code when it is loaded, so loading checks the file's SHA-256
against the one recorded at training time, and the scikit-learn version it was made with,
before unpickling anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.pipeline import Pipeline

ARTIFACT_NAME = "model.joblib"
METADATA_NAME = "metadata.json"


class ArtifactError(Exception):
    """The model directory is missing, incomplete, tampered with or from another scikit-learn."""


@dataclass(frozen=True)
class ModelArtifact:
    pipeline: Pipeline
    metadata: dict[str, Any]
    path: Path

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "PySastrawi": package_version("PySastrawi"),
        "tandai": package_version("tandai"),
    }


def new_version_name(now: datetime | None = None) -> str:
    """Sortable, unique version names: UTC time to the microsecond."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def save_artifact(pipeline: Pipeline, directory: Path, metadata: dict[str, Any]) -> ModelArtifact:
    """Write the pipeline and its metadata into `directory`, which must not hold a model yet."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / ARTIFACT_NAME
    if target.exists():
        raise ArtifactError(f"{directory} already holds a model; versions are never overwritten")
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".tmp", delete=False) as tmp:
        joblib.dump(pipeline, tmp, compress=3)
        tmp_path = Path(tmp.name)
    os.replace(tmp_path, target)
    meta = {
        **metadata,
        "version": metadata.get("version") or directory.name,
        "labels": [str(c) for c in pipeline.classes_],
        "artifact": ARTIFACT_NAME,
        "artifact_sha256": sha256_file(target),
        "versions": library_versions(),
        "created_at": datetime.now(UTC).isoformat(),
    }
    (directory / METADATA_NAME).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return ModelArtifact(pipeline=pipeline, metadata=meta, path=directory)


def read_metadata(directory: Path) -> dict[str, Any]:
    meta_path = directory / METADATA_NAME
    if not meta_path.is_file():
        raise ArtifactError(f"{directory}: no {METADATA_NAME}; is this a tandai model directory?")
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{meta_path}: unreadable metadata ({exc})") from exc
    for key in ("version", "labels", "artifact_sha256", "versions"):
        if key not in meta:
            raise ArtifactError(f"{meta_path}: metadata lacks {key!r}")
    return meta


def load_artifact(directory: Path, expected_sha256: str | None = None) -> ModelArtifact:
    """Verify, then load. Raises ArtifactError without unpickling anything it does not trust.

    `expected_sha256`, when given, is a hash recorded elsewhere (the database): the file must
    match it as well as its own metadata, so rewriting both files is not enough to get a
    pickle loaded.
    """
    meta = verify_artifact(directory, expected_sha256)
    pipeline = joblib.load(directory / ARTIFACT_NAME)
    if not isinstance(pipeline, Pipeline):
        raise ArtifactError(f"{directory / ARTIFACT_NAME}: not a scikit-learn Pipeline")
    return ModelArtifact(pipeline=pipeline, metadata=meta, path=directory)


def verify_artifact(directory: Path, expected_sha256: str | None = None) -> dict[str, Any]:
    """Everything `load_artifact` checks before it unpickles; the metadata if all holds."""
    meta = read_metadata(directory)
    made_with = meta["versions"].get("scikit-learn")
    if made_with != sklearn.__version__:
        raise ArtifactError(
            f"{directory}: model was trained with scikit-learn {made_with}, this installation "
            f"has {sklearn.__version__}; retrain it with `tandai train`"
        )
    target = directory / ARTIFACT_NAME
    if not target.is_file():
        raise ArtifactError(f"{directory}: {ARTIFACT_NAME} is missing")
    actual = sha256_file(target)
    if actual != meta["artifact_sha256"]:
        raise ArtifactError(
            f"{target}: SHA-256 {actual[:12]}... does not match the recorded "
            f"{str(meta['artifact_sha256'])[:12]}...; refusing to load it"
        )
    if expected_sha256 is not None and actual != expected_sha256:
        raise ArtifactError(
            f"{target}: SHA-256 {actual[:12]}... differs from the {expected_sha256[:12]}... "
            "recorded in the database; refusing to load it"
        )
    return meta


def list_versions(model_dir: Path) -> list[Path]:
    """Version directories under `model_dir` that hold metadata, oldest first."""
    if not model_dir.is_dir():
        return []
    return sorted(p for p in model_dir.iterdir() if (p / METADATA_NAME).is_file())


def latest_version(model_dir: Path) -> Path | None:
    versions = list_versions(model_dir)
    return versions[-1] if versions else None
