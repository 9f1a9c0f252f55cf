"""Model versions: listing, activation by hand, swaps without restart, and bad artifacts."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api import storage
from api.app import create_app
from api.settings import Settings
from model.artifact import ARTIFACT_NAME, ModelArtifact
from tests.api.conftest import bearer, create_key, register
from tests.conftest import DATA_DIR, free_port, wait_ready

# The tiny model says sampah, the flipped one jalan; each answer's tags follow its own topic.
PROBE = "sampah menumpuk bau busuk tidak diangkut"
EXPECTED = {"sampah": "dlh", "jalan": "pupr"}


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _activate_in_db(database_url: str, version: str) -> None:
    db = storage.Database(database_url)
    with db.session() as session:
        storage.activate_model_version(session, version, "test")
    db.dispose()


@pytest.fixture
def two_models(
    settings: Settings, tiny_model: ModelArtifact, flipped_model: ModelArtifact
) -> Settings:
    """Both models registered, the tiny one active; workers poll every 50 ms."""
    register(settings.database_url, tiny_model, active=True)
    register(settings.database_url, flipped_model)
    return settings.model_copy(update={"model_poll_seconds": 0.05})


def test_requests_during_swaps_are_answered_by_one_model_each(
    two_models: Settings, tiny_model: ModelArtifact, flipped_model: ModelArtifact
) -> None:
    labels = {tiny_model.version: "sampah", flipped_model.version: "jalan"}
    results: list[dict[str, Any]] = []
    stop = threading.Event()

    with TestClient(create_app(two_models)) as client:

        def hammer() -> None:
            while not stop.is_set():
                response = client.post("/classify", json={"text": PROBE})
                assert response.status_code == 200, response.text
                results.append(response.json())

        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = [pool.submit(hammer) for _ in range(6)]
            for version in [flipped_model.version, tiny_model.version] * 3:
                _activate_in_db(two_models.database_url, version)
                _wait_for(lambda v=version: client.get("/ready").json()["model_version"] == v)
                time.sleep(0.1)
            stop.set()
            for f in futures:
                f.result()

    seen = {r["model_version"] for r in results}
    assert seen == set(labels), seen
    for r in results:
        topic = labels[r["model_version"]]
        assert r["topic"]["label"] == topic
        assert EXPECTED[topic] in {t["official_id"] for t in r["tags"]}
        assert EXPECTED["jalan" if topic == "sampah" else "sampah"] not in {
            t["official_id"] for t in r["tags"]
        }


def test_a_bad_active_artifact_leaves_the_old_model_serving(
    two_models: Settings,
    tiny_model: ModelArtifact,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = tmp_path / "20260103T000000000000Z"
    shutil.copytree(tiny_model.path, broken)
    (broken / ARTIFACT_NAME).write_bytes(b"not a model at all")
    db = storage.Database(two_models.database_url)
    with db.session() as session:  # recorded with the hash of the real artifact
        storage.register_model_version(
            session, broken.name, str(broken), str(tiny_model.metadata["artifact_sha256"]), {}
        )
        storage.activate_model_version(session, broken.name, "test")
    db.dispose()
    with caplog.at_level(logging.ERROR, logger="tandai"), TestClient(create_app(two_models)) as c:
        # a fresh worker has nothing to keep: it reports why it is not ready
        assert c.get("/ready").status_code == 503
    _activate_in_db(two_models.database_url, tiny_model.version)
    with caplog.at_level(logging.ERROR, logger="tandai"), TestClient(create_app(two_models)) as c:
        assert c.get("/ready").json()["model_version"] == tiny_model.version
        caplog.clear()
        _activate_in_db(two_models.database_url, broken.name)
        _wait_for(lambda: any("cannot load the active model" in r.message for r in caplog.records))
        time.sleep(0.2)  # several more polls: logged once, still the old model
        assert sum("cannot load" in r.message for r in caplog.records) == 1
        assert c.get("/ready").json()["model_version"] == tiny_model.version
        answer = c.post("/classify", json={"text": PROBE}).json()
        assert (answer["model_version"], answer["topic"]["label"]) == (tiny_model.version, "sampah")


def test_activate_by_hand_switches_at_once_and_rolls_back(
    two_models: Settings,
    tiny_model: ModelArtifact,
    flipped_model: ModelArtifact,
    admin_headers: dict[str, str],
) -> None:
    slow = two_models.model_copy(update={"model_poll_seconds": 3600})
    with TestClient(create_app(slow)) as client:
        response = client.post(
            f"/models/{flipped_model.version}/activate",
            json={"reason": "try the flipped one"},
            headers=admin_headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["active"], body["serving"], body["reason"]) == (
            True,
            True,
            "try the flipped one",
        )
        assert client.post("/classify", json={"text": PROBE}).json()["topic"]["label"] == "jalan"
        listed = {m["version"]: m for m in client.get("/models", headers=admin_headers).json()}
        assert listed[flipped_model.version]["active"] is True
        assert listed[tiny_model.version]["active"] is False
        rollback = client.post(f"/models/{tiny_model.version}/activate", headers=admin_headers)
        assert rollback.status_code == 200
        assert "by hand by budi" in rollback.json()["reason"]
        assert client.post("/classify", json={"text": PROBE}).json()["topic"]["label"] == "sampah"


def test_activate_refuses_unknown_and_broken_versions(
    settings: Settings, tiny_model: ModelArtifact, tmp_path: Path, admin_headers: dict[str, str]
) -> None:
    models = tmp_path / "models"
    shutil.copytree(tiny_model.path, models / tiny_model.version)
    broken = models / "20250101T000000000000Z"  # older: the newest one is served
    shutil.copytree(tiny_model.path, broken)
    (broken / ARTIFACT_NAME).write_bytes(b"tampered")
    local = settings.model_copy(update={"model_dir": models})
    with TestClient(create_app(local)) as client:
        for version in ("nope", "..", "a%2F..%2F..%2Fetc"):
            response = client.post(f"/models/{version}/activate", headers=admin_headers)
            assert response.status_code == 404, version
        response = client.post(f"/models/{broken.name}/activate", headers=admin_headers)
        assert response.status_code == 422
        assert "SHA-256" in response.json()["detail"]
        assert client.get("/ready").json()["model_version"] == tiny_model.version
        # versions found only on disk are listed as not registered
        listed = client.get("/models", headers=admin_headers).json()
        assert {m["version"]: m["registered"] for m in listed} == {
            broken.name: False,
            tiny_model.version: False,
        }


def test_every_worker_of_a_real_server_switches_without_restart(
    tiny_model: ModelArtifact, flipped_model: ModelArtifact, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'workers.db'}"
    register(database_url, tiny_model, active=True)
    register(database_url, flipped_model)
    admin = bearer(create_key(database_url, "admin", "budi"))
    port = free_port()
    env = {
        **os.environ,
        "TANDAI_MODEL_DIR": str(tmp_path / "no-models-here"),
        "TANDAI_DATABASE_URL": database_url,
        "TANDAI_DATA_DIR": str(DATA_DIR),
        "TANDAI_MODEL_POLL_SECONDS": "0.5",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "training.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def versions(n: int) -> set[str]:
        seen = set()
        for _ in range(n):  # a new connection each time, so both workers answer some
            with httpx.Client(base_url=base, timeout=5) as c:
                seen.add(c.post("/classify", json={"text": PROBE}).json()["model_version"])
        return seen

    try:
        wait_ready(base, proc, seconds=60)
        assert versions(10) == {tiny_model.version}
        with httpx.Client(base_url=base, timeout=30) as c:
            response = c.post(f"/models/{flipped_model.version}/activate", headers=admin)
            assert response.status_code == 200, response.text
        time.sleep(2.0)  # four polls
        assert versions(40) == {flipped_model.version}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
