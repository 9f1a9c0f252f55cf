"""API keys (one per role) and model versions for the API tests."""

from __future__ import annotations

import pytest

from api import storage
from api.auth import hash_key, new_key
from api.service import register_artifact
from api.settings import Settings
from model.artifact import ModelArtifact
from tests.conftest import TINY_CORPUS
from training.train import train_and_save


def create_key(database_url: str, role: str, name: str | None = None) -> str:
    db = storage.Database(database_url)
    try:
        db.migrate()
        key = new_key()
        with db.session() as session:
            storage.add_api_key(session, name or f"{role}-test", role, hash_key(key))
    finally:
        db.dispose()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def reviewer_headers(settings: Settings) -> dict[str, str]:
    return bearer(create_key(settings.database_url, "reviewer", "ani"))


@pytest.fixture
def admin_headers(settings: Settings) -> dict[str, str]:
    return bearer(create_key(settings.database_url, "admin", "budi"))


def register(database_url: str, artifact: ModelArtifact, *, active: bool = False) -> None:
    """Record a model version in the database, optionally as the active one."""
    db = storage.Database(database_url)
    try:
        db.migrate()
        with db.session() as session:
            register_artifact(session, artifact)
            if active:
                storage.activate_model_version(session, artifact.version, "test")
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def flipped_model(tmp_path_factory: pytest.TempPathFactory) -> ModelArtifact:
    """Like `tiny_model`, but with the labels sampah and jalan swapped: the two models give
    different answers to the same post, so an answer shows which model made it."""
    flip = {"sampah": "jalan", "jalan": "sampah"}
    models = tmp_path_factory.mktemp("flipped-models")
    return train_and_save(
        [t for t, _ in TINY_CORPUS],
        [flip.get(label, label) for _, label in TINY_CORPUS],
        models / "20260102T000000000000Z",
        data_sha256="flipped",
        data_files=["flipped"],
        classifier="svc",
        cv_folds=0,
    )
