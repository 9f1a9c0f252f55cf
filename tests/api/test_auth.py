"""API keys and roles: 401 without a valid key, 403 for the wrong role, nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api import storage
from api.app import create_app
from api.auth import hash_key
from api.settings import Settings
from tests.api.conftest import bearer, create_key


def _counts(settings: Settings) -> tuple[int, int]:
    db = storage.Database(settings.database_url)
    with db.session() as session:
        counts = storage.count_posts(session), storage.count_reviews(session)
    db.dispose()
    return counts


@pytest.fixture
def post_id(client: TestClient) -> str:
    return str(client.post("/classify", json={"text": "sampah menumpuk di jalan"}).json()["id"])


REVIEW = {"decision": "correct", "topic": "jalan"}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "an API key is required"),
        (bearer("tdk_not-a-real-key"), "not valid or has been revoked"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "an API key is required"),
        ({"Authorization": "Bearer "}, "an API key is required"),
    ],
)
def test_missing_or_wrong_key_is_401_with_challenge_and_writes_nothing(
    client: TestClient, settings: Settings, post_id: str, headers: dict[str, str], message: str
) -> None:
    before = _counts(settings)
    calls = [
        ("post", f"/posts/{post_id}/review", REVIEW),
        ("get", "/reviews/queue", None),
        ("get", "/posts", None),
        ("get", "/labels/export.csv", None),
        ("post", "/classify/batch", {"posts": [{"text": "jalan rusak"}]}),
        ("post", "/models/retrain", {}),
        ("post", "/models/x/activate", {}),
        ("get", "/models", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert message in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"
    assert _counts(settings) == before


def test_reviewer_may_not_retrain_or_activate(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    before = _counts(settings)
    for path in ("/models/retrain", "/models/anything/activate"):
        response = client.post(path, json={}, headers=reviewer_headers)
        assert response.status_code == 403
        assert "'reviewer'" in response.json()["detail"]
        assert "'admin'" in response.json()["detail"]
    assert client.get("/models/retrain/nope", headers=reviewer_headers).status_code == 403
    db = storage.Database(settings.database_url)
    with db.session() as session:
        assert storage.unfinished_retrain_job(session, datetime(2000, 1, 1, tzinfo=UTC)) is None
    db.dispose()
    assert _counts(settings) == before


def test_reviewer_and_admin_may_review(
    client: TestClient,
    post_id: str,
    reviewer_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    for headers in (reviewer_headers, admin_headers):
        response = client.post(f"/posts/{post_id}/review", json=REVIEW, headers=headers)
        assert response.status_code == 201, response.text
    reviews = client.get(f"/posts/{post_id}").json()["reviews"]
    assert [r["reviewer"] for r in reviews] == ["ani", "budi"]


def test_revoked_key_is_refused(client: TestClient, settings: Settings, post_id: str) -> None:
    key = create_key(settings.database_url, "reviewer", "leaver")
    assert client.get("/reviews/queue", headers=bearer(key)).status_code == 200
    db = storage.Database(settings.database_url)
    with db.session() as session:
        row = next(k for k in storage.list_api_keys(session) if k.name == "leaver")
        storage.revoke_api_key(session, row.id)
    db.dispose()
    response = client.get("/reviews/queue", headers=bearer(key))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_only_the_hash_of_a_key_is_stored(settings: Settings) -> None:
    key = create_key(settings.database_url, "admin", "root")
    db = storage.Database(settings.database_url)
    with db.session() as session:
        (row,) = storage.list_api_keys(session)
        assert row.key_hash == hash_key(key)
        assert key not in {row.key_hash, row.name}
    db.dispose()


@pytest.fixture
def keyed_classify(settings: Settings) -> Iterator[TestClient]:
    keyed = settings.model_copy(update={"classify_requires_key": True, "batch_requires_key": True})
    with TestClient(create_app(keyed)) as c:
        yield c


def test_classify_is_open_by_default_and_keyed_by_setting(
    client: TestClient, keyed_classify: TestClient, settings: Settings
) -> None:
    assert client.post("/classify", json={"text": "jalan rusak"}).status_code == 200
    before = _counts(settings)
    response = keyed_classify.post("/classify", json={"text": "jalan rusak"})
    assert response.status_code == 401
    assert _counts(settings) == before
    key = create_key(settings.database_url, "reviewer")
    ok = keyed_classify.post("/classify", json={"text": "jalan rusak"}, headers=bearer(key))
    assert ok.status_code == 200


def test_batch_can_be_opened_by_setting(settings: Settings) -> None:
    open_batch = settings.model_copy(update={"batch_requires_key": False})
    with TestClient(create_app(open_batch)) as c:
        response = c.post("/classify/batch", json={"posts": [{"text": "jalan rusak"}]})
    assert response.status_code == 200


def test_cors_is_off_unless_origins_are_set(client: TestClient, settings: Settings) -> None:
    preflight = {
        "Origin": "https://desk.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    closed = client.options("/reviews/queue", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    assert (
        "access-control-allow-origin"
        not in client.get("/health", headers={"Origin": "https://desk.example"}).headers
    )
    cors = settings.model_copy(update={"cors_origins": ["https://desk.example"]})
    with TestClient(create_app(cors)) as c:
        allowed = c.options("/reviews/queue", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://desk.example"
        other = c.options("/reviews/queue", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_openapi_declares_bearer_auth(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert any(
        s.get("scheme") == "bearer" for s in schema["components"]["securitySchemes"].values()
    )
    assert "security" in schema["paths"]["/reviews/queue"]["get"]
