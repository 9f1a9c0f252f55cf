"""bench/http_layer_app.py, the app `bench.http_throughput --layers` measures: tandai's own HTTP
layer, answering every post with the first post's stored result."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from bench.http_layer_app import create_app as create_layer_app
from tests.conftest import count_stored_posts


def test_every_post_gets_the_first_answer_and_only_the_first_is_stored(
    settings: Settings,
) -> None:
    with TestClient(create_layer_app(settings)) as client:
        first = client.post("/classify", json={"text": "sampah menumpuk di Gading Cempaka"})
        later = client.post("/classify", json={"text": "lampu jalan mati di Betungan"})
        invalid = client.post("/classify", json={"text": ""})
    assert first.status_code == later.status_code == 200
    assert later.json() == first.json()
    # tandai's own validation still answers
    assert invalid.status_code == 422
    assert count_stored_posts(settings.database_url) == 1


def test_the_real_app_is_left_as_it_was(settings: Settings) -> None:
    with TestClient(create_layer_app(settings)):
        pass
    with TestClient(create_app(settings)) as client:
        a = client.post("/classify", json={"text": "sampah menumpuk di Gading Cempaka"})
        b = client.post("/classify", json={"text": "lampu jalan mati di Betungan"})
    assert a.json()["id"] != b.json()["id"]
    assert count_stored_posts(settings.database_url) == 2
