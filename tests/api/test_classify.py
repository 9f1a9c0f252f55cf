from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.storage import Database, count_posts
from tests.conftest import DATA_DIR


def test_classify_returns_contract_and_stores_post(client: TestClient, settings: Settings) -> None:
    response = client.post(
        "/classify",
        json={
            "text": "SAMPAH menumpuk di kel. Padang Harapan dak diangkut!!",
            "source": "instagram",
            "external_id": "ig-1",
            "author": "warga",
            "url": "https://instagram.com/p/1",
            "posted_at": "2026-11-01T08:00:00+07:00",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {
        "id",
        "model_version",
        "is_complaint",
        "topic",
        "area",
        "tags",
        "needs_review",
        "respond_by",
    }
    assert body["topic"]["label"] == "sampah"
    assert body["is_complaint"] is True
    assert 0 < body["topic"]["confidence"] <= 1
    assert [a["label"] for a in body["topic"]["alternatives"]] != []
    assert body["area"]["kelurahan"] == "Padang Harapan"
    assert body["area"]["kecamatan"] == "Gading Cempaka"
    ids = {t["official_id"] for t in body["tags"]}
    assert {"camat-gading-cempaka", "lurah-padang-harapan"} <= ids
    assert all(t["reason"] for t in body["tags"])
    # respond_by = posted_at + 24 h
    assert datetime.fromisoformat(body["respond_by"]) == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

    stored = client.get(f"/posts/{body['id']}")
    assert stored.status_code == 200
    post = stored.json()
    assert post["text"].startswith("SAMPAH menumpuk")
    assert post["external_id"] == "ig-1"
    assert post["prediction"]["topic"] == body["topic"]
    assert post["prediction"]["tags"] == body["tags"]

    db = Database(settings.database_url)
    with db.session() as session:
        assert count_posts(session) == 1
    db.dispose()


def test_respond_by_defaults_to_received_time(client: TestClient) -> None:
    before = datetime.now(UTC)
    body = client.post("/classify", json={"text": "jalan berlubang besar"}).json()
    respond_by = datetime.fromisoformat(body["respond_by"])
    assert before + timedelta(hours=24) <= respond_by <= datetime.now(UTC) + timedelta(hours=24)


def test_not_a_complaint_gets_no_tags(client: TestClient) -> None:
    body = client.post("/classify", json={"text": "terima kasih pak wali, mantap"}).json()
    assert body["topic"]["label"] == "bukan_keluhan"
    assert body["is_complaint"] is False
    assert body["tags"] == []


def test_a_complaint_about_another_regency_goes_to_review_and_says_why(
    client: TestClient,
) -> None:
    body = client.post(
        "/classify", json={"text": "jalan di Kepahiang rusak parah, lubang besar dak ditambal"}
    ).json()
    assert body["is_complaint"] is True
    assert body["area"]["kecamatan"] is None
    assert body["needs_review"] is True
    assert any("Kepahiang (di luar kota)" in r for r in body["review_reasons"])
    assert (
        client.get(f"/posts/{body['id']}").json()["prediction"]["review_reasons"]
        == (body["review_reasons"])
    )


def test_batch_keeps_order_and_stores_each(
    client: TestClient, reviewer_headers: dict[str, str]
) -> None:
    texts = ["banjir lagi selokan mampet", "jalan rusak berlubang", "sampah bau menumpuk"]
    response = client.post(
        "/classify/batch",
        json={"posts": [{"text": t} for t in texts]},
        headers=reviewer_headers,
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["topic"]["label"] for r in results] == ["banjir_drainase", "jalan", "sampah"]
    assert len({r["id"] for r in results}) == 3
    for r in results:
        assert client.get(f"/posts/{r['id']}").status_code == 200


def test_batch_equals_one_by_one(client: TestClient, reviewer_headers: dict[str, str]) -> None:
    texts = ["banjir lagi selokan mampet", "jalan rusak berlubang di Sawah Lebar"]
    batch = client.post(
        "/classify/batch", json={"posts": [{"text": t} for t in texts]}, headers=reviewer_headers
    ).json()
    for text, result in zip(texts, batch["results"], strict=True):
        single = client.post("/classify", json={"text": text}).json()
        assert single["topic"] == result["topic"]
        assert single["area"] == result["area"]


def test_batch_limit(settings: Settings, reviewer_headers: dict[str, str]) -> None:
    small = settings.model_copy(update={"max_batch_size": 2})
    with TestClient(create_app(small)) as c:
        response = c.post(
            "/classify/batch", json={"posts": [{"text": "a b c"}] * 3}, headers=reviewer_headers
        )
    assert response.status_code == 413
    assert "limit of 2" in response.json()["detail"]


def test_text_length_limit(settings: Settings) -> None:
    small = settings.model_copy(update={"max_text_length": 10})
    with TestClient(create_app(small)) as c:
        response = c.post("/classify", json={"text": "sampah menumpuk di jalan"})
        assert response.status_code == 422
        assert "limit is 10" in response.json()["detail"]


def test_bad_input_is_a_clear_4xx(client: TestClient, reviewer_headers: dict[str, str]) -> None:
    cases = [
        {"text": ""},
        {"text": "   \n\t"},
        {"text": 42},
        {"text": "ok", "source": "myspace"},
        {"text": "ok", "unknown_field": 1},
        {"source": "x"},
        {"text": "ok", "posted_at": "yesterday"},
    ]
    for body in cases:
        response = client.post("/classify", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"]
    assert client.post("/classify", content=b"{not json").status_code == 422
    empty = client.post("/classify/batch", json={"posts": []}, headers=reviewer_headers)
    assert empty.status_code == 422


def test_posted_at_without_a_timezone_is_utc_and_a_bad_one_is_named_once(
    client: TestClient,
) -> None:
    naive = client.post(
        "/classify", json={"text": "got mampet", "posted_at": "2026-11-01T08:00:00"}
    )
    assert naive.status_code == 200, naive.text
    respond_by = datetime.fromisoformat(naive.json()["respond_by"])
    assert respond_by == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    bad = client.post("/classify", json={"text": "got mampet", "posted_at": "kemarin"})
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["errors"]] == [["body", "posted_at"]]
    assert bad.json()["detail"].startswith("posted_at: Input should be a valid datetime")


def test_unknown_post_is_404(client: TestClient) -> None:
    response = client.get("/posts/does-not-exist")
    assert response.status_code == 404
    assert "does-not-exist" in response.json()["detail"]


def test_health_ready_and_reference(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["model_version"] == "20260101T000000000000Z"
    topics = client.get("/topics").json()
    assert {t["code"] for t in topics} >= {"sampah", "bukan_keluhan", "lainnya"}
    areas = client.get("/areas").json()
    assert len(areas) == 9
    assert sum(len(k["kelurahan"]) for k in areas) == 67
    officials = client.get("/officials").json()
    assert any(o["official_id"] == "dlh" for o in officials)
    assert client.get("/docs").status_code == 200
    assert "/classify" in client.get("/openapi.json").json()["paths"]


def test_without_model_not_ready_and_503(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        model_dir=tmp_path / "no-models",
        data_dir=DATA_DIR,
    )
    with TestClient(create_app(settings)) as c:
        assert c.get("/health").status_code == 200
        ready = c.get("/ready")
        assert ready.status_code == 503
        response = c.post("/classify", json={"text": "sampah menumpuk"})
        assert response.status_code == 503
        assert "tandai train" in response.json()["detail"]
