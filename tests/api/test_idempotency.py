"""A post is stored once however often it is sent; repeated complaints link to the first."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api.settings import Settings
from api.storage import Database
from model.artifact import ModelArtifact
from tests.conftest import DATA_DIR, count_stored_posts, free_port, wait_ready


def test_same_platform_post_is_stored_once(client: TestClient, settings: Settings) -> None:
    body = {"text": "sampah menumpuk bau", "source": "instagram", "external_id": "C1"}
    first = client.post("/classify", json=body).json()
    again = client.post("/classify", json={**body, "text": "teks lain sama sekali"}).json()
    assert again["id"] == first["id"]
    assert again["topic"] == first["topic"]
    assert count_stored_posts(settings.database_url) == 1
    # the same id on another platform is another post
    other = client.post("/classify", json={**body, "source": "x"}).json()
    assert other["id"] != first["id"]
    assert count_stored_posts(settings.database_url) == 2


def test_idempotency_key_returns_the_first_result(client: TestClient, settings: Settings) -> None:
    headers = {"Idempotency-Key": "retry-7f3a"}
    first = client.post("/classify", json={"text": "jalan berlubang"}, headers=headers).json()
    again = client.post("/classify", json={"text": "jalan berlubang"}, headers=headers).json()
    assert again == first
    assert count_stored_posts(settings.database_url) == 1
    fresh = client.post("/classify", json={"text": "jalan berlubang"}).json()
    assert fresh["id"] != first["id"]


def test_an_idempotency_key_sent_again_with_another_post_is_a_422(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    """It once answered with the first post's result: a 200 for a post never stored."""
    headers = {"Idempotency-Key": "retry-7f3a"}
    client.post("/classify", json={"text": "jalan berlubang"}, headers=headers)
    other = client.post("/classify", json={"text": "sampah bau"}, headers=headers)
    assert other.status_code == 422, other.text
    assert "Idempotency-Key was sent before with another post" in other.json()["detail"]
    batch = {"posts": [{"text": "lampu mati"}, {"text": "air keruh"}]}
    batch_headers = {**reviewer_headers, "Idempotency-Key": "batch-1"}
    assert client.post("/classify/batch", json=batch, headers=batch_headers).status_code == 200
    assert client.post("/classify/batch", json=batch, headers=batch_headers).status_code == 200
    changed = {"posts": [{"text": "lampu mati"}, {"text": "air keruh sekali"}]}
    response = client.post("/classify/batch", json=changed, headers=batch_headers)
    assert response.status_code == 422, response.text
    assert count_stored_posts(settings.database_url) == 3


def test_bad_idempotency_key_is_a_422(client: TestClient, settings: Settings) -> None:
    response = client.post(
        "/classify", json={"text": "jalan rusak"}, headers={"Idempotency-Key": "x" * 201}
    )
    assert response.status_code == 422
    assert count_stored_posts(settings.database_url) == 0


def test_batch_stores_each_platform_post_once(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    posts = [
        {"text": "banjir selokan mampet", "source": "facebook", "external_id": "F1"},
        {"text": "jalan rusak", "source": "facebook", "external_id": "F2"},
        {"text": "banjir selokan mampet lagi", "source": "facebook", "external_id": "F1"},
    ]
    results = client.post(
        "/classify/batch", json={"posts": posts}, headers=reviewer_headers
    ).json()["results"]
    assert results[0]["id"] == results[2]["id"] != results[1]["id"]
    assert count_stored_posts(settings.database_url) == 2
    again = client.post(
        "/classify/batch", json={"posts": posts[:2]}, headers=reviewer_headers
    ).json()["results"]
    assert [r["id"] for r in again] == [results[0]["id"], results[1]["id"]]
    assert count_stored_posts(settings.database_url) == 2


def test_concurrent_identical_requests_store_one_row(
    tiny_model: ModelArtifact, settings: Settings, tmp_path: Path
) -> None:
    """Real concurrency: two server processes, sixteen clients released at once."""
    port = free_port()
    env = {
        **os.environ,
        "TANDAI_DATABASE_URL": settings.database_url,
        "TANDAI_MODEL_DIR": str(tiny_model.path.parent),
        "TANDAI_DATA_DIR": str(DATA_DIR),
    }
    Database(settings.database_url).migrate()  # both workers then find the schema ready
    proc = subprocess.Popen(
        [sys.executable, "-m", "training.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, seconds=90)
        for round_ in range(3):
            body = {"text": "sampah menumpuk", "source": "tiktok", "external_id": f"T{round_}"}
            barrier = threading.Barrier(16)
            answers: list[httpx.Response] = []
            lock = threading.Lock()

            def send(
                body: dict[str, str],
                barrier: threading.Barrier,
                answers: list[httpx.Response],
                lock: threading.Lock,
            ) -> None:
                with httpx.Client(timeout=30) as c:
                    barrier.wait()
                    r = c.post(f"{base}/classify", json=body)
                with lock:
                    answers.append(r)

            threads = [
                threading.Thread(target=send, args=(body, barrier, answers, lock))
                for _ in range(16)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert [r.status_code for r in answers] == [200] * 16
            assert len({r.json()["id"] for r in answers}) == 1
        assert count_stored_posts(settings.database_url) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_repeated_complaint_links_to_the_open_post(client: TestClient) -> None:
    first = client.post(
        "/classify",
        json={"text": "sampah menumpuk bau busuk di pinggir jalan kelurahan Sawah Lebar"},
    ).json()
    assert first["topic"]["label"] == "sampah" and first["tags"]
    assert first["repeat_of"] is None
    again = client.post(
        "/classify",
        json={"text": "SAMPAH menumpuk bau busuk nian di pinggir jalan Sawah Lebar!!"},
    ).json()
    assert again["topic"]["label"] == "sampah"
    assert again["repeat_of"] == first["id"]
    assert again["repeat_count"] == 1
    assert again["tags"] == []  # the officials were tagged on the first post
    stored = client.get(f"/posts/{first['id']}").json()
    assert stored["prediction"]["repeat_count"] == 1
    assert client.get(f"/posts/{again['id']}").json()["prediction"]["repeat_of"] == first["id"]


def test_other_place_or_topic_is_not_a_repeat(client: TestClient) -> None:
    client.post("/classify", json={"text": "sampah menumpuk bau busuk di kelurahan Sawah Lebar"})
    elsewhere = client.post(
        "/classify", json={"text": "sampah menumpuk bau busuk di kelurahan Padang Harapan"}
    ).json()
    assert elsewhere["repeat_of"] is None and elsewhere["tags"]
    other_topic = client.post(
        "/classify", json={"text": "jalan berlubang besar di kelurahan Sawah Lebar"}
    ).json()
    assert other_topic["repeat_of"] is None


def test_repeat_detection_can_be_switched_off(settings: Settings) -> None:
    from api.app import create_app

    off = settings.model_copy(update={"repeat_window_days": 0})
    with TestClient(create_app(off)) as c:
        text = "sampah menumpuk bau busuk di kelurahan Sawah Lebar"
        c.post("/classify", json={"text": text})
        assert c.post("/classify", json={"text": text + " lagi"}).json()["repeat_of"] is None


def test_different_complaint_same_place_is_not_a_repeat(client: TestClient) -> None:
    client.post(
        "/classify", json={"text": "truk sampah tidak datang, sampah menumpuk di Sawah Lebar"}
    )
    different = client.post(
        "/classify",
        json={"text": "TPS liar penuh plastik dibuang sembarangan ke lahan kosong Sawah Lebar"},
    ).json()
    assert different["topic"]["label"] == "sampah"
    assert different["repeat_of"] is None


def test_closed_case_is_not_repeated_but_a_reopened_one_is(
    client: TestClient, reviewer_headers: dict[str, str]
) -> None:
    first = client.post(
        "/classify", json={"text": "sampah menumpuk bau busuk di kelurahan Sawah Lebar"}
    ).json()
    answered = client.post(
        f"/posts/{first['id']}/responses",
        json={"office": "DLH", "status": "selesai"},
        headers=reviewer_headers,
    )
    assert answered.status_code == 201, answered.text
    again = client.post(
        "/classify", json={"text": "sampah menumpuk bau busuk lagi di kelurahan Sawah Lebar"}
    ).json()
    assert again["repeat_of"] is None and again["tags"]  # the case was closed: a new one
    reopened = client.post(
        f"/posts/{again['id']}/responses",
        json={"office": "DLH", "status": "diproses"},
        headers=reviewer_headers,
    )
    assert reopened.status_code == 201, reopened.text
    third = client.post(
        "/classify", json={"text": "sampah menumpuk bau busuk di kelurahan Sawah Lebar!!"}
    ).json()
    assert third["repeat_of"] == again["id"]
