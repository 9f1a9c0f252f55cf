"""The review API: queue order and filters, reviews and their audit trail, the post list,
and the label export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from api import storage
from api.service import evidence_spans, spreadsheet_safe, topic_filter
from api.settings import Settings
from model.routing import Directory
from model.triage import Triage


def store_post(
    settings: Settings,
    text: str,
    *,
    topic: str = "sampah",
    confidence: float = 0.9,
    margin: float = 0.8,
    needs_review: bool = False,
    kecamatan: str | None = None,
    kelurahan: str | None = None,
    evidence: str | None = None,
    tags: list[str] | None = None,
    received_at: datetime | None = None,
    source: str | None = "instagram",
) -> str:
    """A post with a prediction of exactly these values (the queue order depends on them)."""
    db = storage.Database(settings.database_url)
    db.migrate()
    prediction: dict[str, Any] = {
        "model_version": "v-test",
        "topic": topic,
        "confidence": confidence,
        "margin": margin,
        "alternatives": [{"label": "jalan", "confidence": confidence - margin}],
        "kecamatan": kecamatan,
        "kelurahan": kelurahan,
        "area_confidence": 0.9 if kecamatan else 0.0,
        "area_evidence": evidence,
        "tags": [
            {"official_id": t, "name": t, "role": "opd", "handles": {}, "reason": "r"}
            for t in (tags or [])
        ],
        "needs_review": needs_review,
        "review_reasons": ["keyakinan topik rendah"] if needs_review else [],
        "respond_by": datetime(2026, 1, 2, tzinfo=UTC),
    }
    with db.session() as session:
        (row,) = storage.add_classified_posts(
            session,
            [storage.NewPost(text, source)],
            [prediction],
            received_at or datetime.now(UTC),
        )
        post_id = row.id
    db.dispose()
    return post_id


def queue_ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = client.get("/reviews/queue", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_queue_puts_needs_review_first_then_least_certain(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    sure = store_post(settings, "sure", confidence=0.95, margin=0.9)
    flagged_sure = store_post(settings, "flagged a", confidence=0.8, margin=0.5, needs_review=True)
    flagged_close = store_post(
        settings, "flagged b", confidence=0.5, margin=0.05, needs_review=True
    )
    close = store_post(settings, "close", confidence=0.6, margin=0.1)
    assert queue_ids(client, reviewer_headers) == [flagged_close, flagged_sure, close, sure]
    page = client.get("/reviews/queue", params={"limit": 2, "offset": 1}, headers=reviewer_headers)
    body = page.json()
    assert [i["id"] for i in body["items"]] == [flagged_sure, close]
    assert (body["total"], body["limit"], body["offset"]) == (4, 2, 1)


def test_queue_items_carry_prediction_alternatives_tags_and_evidence(
    client: TestClient, reviewer_headers: dict[str, str]
) -> None:
    text = "SAMPAH menumpuk di kel. Padang Harapan, dak diangkut!!"
    client.post("/classify", json={"text": text})
    (item,) = client.get("/reviews/queue", headers=reviewer_headers).json()["items"]
    assert item["text"] == text
    prediction = item["prediction"]
    assert prediction["topic"]["label"] == "sampah"
    assert prediction["topic"]["alternatives"]
    assert "camat-gading-cempaka" in {t["official_id"] for t in prediction["tags"]}
    [(start, end)] = item["evidence_spans"]
    assert text[start:end] == "Padang Harapan"


def test_queue_filters_by_topic_and_kecamatan(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    a = store_post(settings, "a", topic="sampah", kecamatan="Selebar")
    b = store_post(settings, "b", topic="jalan", kecamatan="Selebar")
    c = store_post(settings, "c", topic="jalan", kecamatan="Ratu Agung")
    assert set(queue_ids(client, reviewer_headers, topic="jalan")) == {b, c}
    assert set(queue_ids(client, reviewer_headers, kecamatan="Selebar")) == {a, b}
    assert queue_ids(client, reviewer_headers, topic="jalan", kecamatan="Ratu Agung") == [c]


@pytest.mark.parametrize(
    ("field", "wanted", "other", "written", "typo", "detail"),
    [
        (
            "kecamatan",
            "Ratu Agung",
            "Selebar",
            " ratu AGUNG ",
            "Ratu Agng",
            "unknown kecamatan 'Ratu Agng'; see GET /areas",
        ),
        ("topic", "sampah", "jalan", " SAMPAH ", "samph", "unknown topic 'samph'; topics are: "),
    ],
)
def test_list_filters_take_any_case_and_name_an_unknown_value(
    client: TestClient,
    settings: Settings,
    reviewer_headers: dict[str, str],
    field: str,
    wanted: str,
    other: str,
    written: str,
    typo: str,
    detail: str,
) -> None:
    """As a review's correction does: "ratu agung" is Ratu Agung; a typo is a 422, not an
    empty list that looks like no posts."""
    store_post(settings, "a", **{field: other})
    c = store_post(settings, "c", **{field: wanted})
    assert queue_ids(client, reviewer_headers, **{field: written}) == [c]
    listed = client.get("/posts", params={field: written}, headers=reviewer_headers)
    assert [item["id"] for item in listed.json()["items"]] == [c]
    for path in ("/reviews/queue", "/posts"):
        answer = client.get(path, params={field: typo}, headers=reviewer_headers)
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(detail)


def test_a_topic_filter_may_name_a_label_of_the_active_model_outside_topics_csv(
    settings: Settings,
) -> None:
    """A model trained on other labels (a city's agencies) returns those as topics."""

    directory = Directory.from_dir(settings.data_dir)
    db = storage.Database(settings.database_url)
    db.migrate()

    agencies = cast(Triage, SimpleNamespace(labels=["Dinas Lingkungan Hidup", "Dinas Sosial"]))
    assert topic_filter(db, directory, agencies, "dinas sosial") == "Dinas Sosial"
    assert topic_filter(db, directory, None, "Sampah") == "sampah"
    assert topic_filter(db, directory, None, None) is None


def test_a_topic_filter_finds_the_posts_of_a_label_only_stored_posts_carry(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    """Posts classified by a model since replaced (trained on agencies, say) keep its labels;
    the lists still find them by that label, and a label no post carries is still a 422."""
    old = store_post(settings, "a", topic="Dinas Sosial")
    store_post(settings, "b", topic="sampah")
    assert queue_ids(client, reviewer_headers, topic="Dinas Sosial") == [old]
    listed = client.get("/posts", params={"topic": "Dinas Sosial"}, headers=reviewer_headers)
    assert [item["id"] for item in listed.json()["items"]] == [old]
    for missing in ("Dinas Sosia", "dinas sosial"):  # as stored, not a near miss or another case
        answer = client.get("/posts", params={"topic": missing}, headers=reviewer_headers)
        assert answer.status_code == 422, answer.text
    # a reviewer's correction to a label of that model counts too
    corrected = store_post(settings, "c", topic="sampah")
    db = storage.Database(settings.database_url)
    with db.session() as session:
        post = storage.get_post(session, corrected)
        assert post is not None
        storage.add_review(
            session,
            post,
            reviewer="ani",
            decision="correct",
            before_topic="sampah",
            before_tags=[],
            after_topic="Dinas Kesehatan",
            after_tags=[],
        )
    assert (
        client.get("/posts", params={"topic": "Dinas Kesehatan"}, headers=reviewer_headers).json()[
            "items"
        ][0]["id"]
        == corrected
    )


def test_accept_keeps_prediction_and_post_leaves_queue(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    post = store_post(
        settings, "x", topic="sampah", kecamatan="Selebar", kelurahan="Pagar Dewa", tags=["dlh"]
    )
    other = store_post(settings, "y")
    response = client.post(
        f"/posts/{post}/review", json={"decision": "accept"}, headers=reviewer_headers
    )
    assert response.status_code == 201, response.text
    review = response.json()
    assert review["reviewer"] == "ani"
    assert review["before"] == review["after"]
    assert review["after"] == {
        "topic": "sampah",
        "kecamatan": "Selebar",
        "kelurahan": "Pagar Dewa",
        "tags": ["dlh"],
    }
    assert queue_ids(client, reviewer_headers) == [other]


def test_correct_validates_against_the_data_files_and_derives_tags(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    post = store_post(settings, "x", topic="sampah", tags=["dlh"])
    body = {"decision": "correct", "topic": "jalan", "kelurahan": "padang harapan"}
    review = client.post(f"/posts/{post}/review", json=body, headers=reviewer_headers).json()
    assert review["before"]["topic"] == "sampah"
    assert review["after"]["topic"] == "jalan"
    # the kelurahan's canonical name, and its kecamatan filled in from areas.csv
    assert review["after"]["kecamatan"] == "Gading Cempaka"
    assert review["after"]["kelurahan"] == "Padang Harapan"
    assert set(review["after"]["tags"]) == {"pupr", "camat-gading-cempaka", "lurah-padang-harapan"}
    explicit = {"decision": "correct", "topic": "jalan", "tags": ["pupr", "pupr"], "note": "ok"}
    second = client.post(f"/posts/{post}/review", json=explicit, headers=reviewer_headers).json()
    assert second["after"]["tags"] == ["pupr"]
    assert second["before"] == review["after"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"decision": "correct", "topic": "kucing"}, 422, "unknown topic 'kucing'"),
        ({"decision": "correct"}, 422, "needs a topic"),
        ({"decision": "correct", "topic": "jalan", "kecamatan": "Atlantis"}, 422, "unknown kec"),
        ({"decision": "correct", "topic": "jalan", "kelurahan": "Atlantis"}, 422, "unknown kel"),
        (
            {
                "decision": "correct",
                "topic": "jalan",
                "kecamatan": "Selebar",
                "kelurahan": "Padang Harapan",
            },
            422,
            "is in kecamatan 'Gading Cempaka', not 'Selebar'",
        ),
        ({"decision": "correct", "topic": "jalan", "tags": ["nobody"]}, 422, "'nobody'"),
        ({"decision": "accept", "topic": "jalan"}, 422, "send decision 'correct'"),
        ({"decision": "reject", "topic": "jalan"}, 422, "reject takes only a note"),
        ({"decision": "maybe"}, 422, "decision"),
        ({"decision": "accept", "extra": 1}, 422, "extra"),
        ({"decision": "accept", "note": "ok\x00"}, 422, "NUL"),
    ],
)
def test_bad_reviews_are_422_and_not_stored(
    client: TestClient,
    settings: Settings,
    reviewer_headers: dict[str, str],
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    post = store_post(settings, "x", topic="sampah")
    response = client.post(f"/posts/{post}/review", json=body, headers=reviewer_headers)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert client.get(f"/posts/{post}").json()["reviews"] == []


def test_review_of_unknown_post_is_404(
    client: TestClient, reviewer_headers: dict[str, str]
) -> None:
    response = client.post(
        "/posts/nope/review", json={"decision": "accept"}, headers=reviewer_headers
    )
    assert response.status_code == 404
    assert "'nope'" in response.json()["detail"]


def test_every_review_is_kept_in_the_audit_trail(
    client: TestClient,
    settings: Settings,
    reviewer_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    post = store_post(settings, "x", topic="sampah")
    client.post(f"/posts/{post}/review", json={"decision": "accept"}, headers=reviewer_headers)
    client.post(
        f"/posts/{post}/review",
        json={"decision": "reject", "note": "spam"},
        headers=admin_headers,
    )
    shown = client.get(f"/posts/{post}").json()
    assert shown["reviewed"] is True
    assert [(r["decision"], r["reviewer"]) for r in shown["reviews"]] == [
        ("accept", "ani"),
        ("reject", "budi"),
    ]
    assert shown["reviews"][1]["before"]["topic"] == "sampah"
    assert shown["reviews"][1]["after"] == {
        "topic": None,
        "kecamatan": None,
        "kelurahan": None,
        "tags": [],
    }
    assert shown["reviews"][1]["note"] == "spam"


def test_post_list_filters_and_pages(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    old = store_post(settings, "old", topic="sampah", kecamatan="Selebar", received_at=t0)
    mid = store_post(settings, "mid", topic="sampah", received_at=t0 + timedelta(days=1))
    new = store_post(settings, "new", topic="jalan", received_at=t0 + timedelta(days=2))
    correction = {"decision": "correct", "topic": "jalan", "kecamatan": "Ratu Agung"}
    client.post(f"/posts/{old}/review", json=correction, headers=reviewer_headers)

    def ids(**params: Any) -> list[str]:
        response = client.get("/posts", params=params, headers=reviewer_headers)
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    assert ids() == [new, mid, old]
    assert ids(reviewed=True) == [old]
    assert ids(reviewed=False) == [new, mid]
    # topic and kecamatan match the review's labels once reviewed
    assert ids(topic="jalan") == [new, old]
    assert ids(topic="sampah") == [mid]
    assert ids(kecamatan="Ratu Agung") == [old]
    assert ids(kecamatan="Selebar") == []
    assert ids(since=(t0 + timedelta(days=1)).isoformat()) == [new, mid]
    assert ids(until=(t0 + timedelta(days=1)).isoformat()) == [old]
    page = client.get("/posts", params={"limit": 1, "offset": 1}, headers=reviewer_headers).json()
    assert [p["id"] for p in page["items"]] == [mid]
    assert page["total"] == 3
    assert page["items"][0]["prediction"]["topic"]["label"] == "sampah"


def test_label_export_is_training_rows_safe_for_spreadsheets(
    client: TestClient, settings: Settings, reviewer_headers: dict[str, str]
) -> None:
    texts = [
        '=HYPERLINK("http://x")',
        "+62 jalan rusak",
        "-1 lampu mati",
        "@dlh sampah",
        "\tbanjir",
        "\rbanjir lagi",
        'biasa, dengan "kutip"\nbaris dua',
        "ditolak",
    ]
    ids = [store_post(settings, t, topic="sampah") for t in texts]
    for post_id in ids[:-1]:
        body = {"decision": "correct", "topic": "banjir_drainase", "kecamatan": "Selebar"}
        client.post(f"/posts/{post_id}/review", json=body, headers=reviewer_headers)
    client.post(f"/posts/{ids[-1]}/review", json={"decision": "reject"}, headers=reviewer_headers)
    store_post(settings, "never reviewed")
    response = client.get("/labels/export.csv", headers=reviewer_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["text", "topic", "kecamatan", "kelurahan", "source"]
    exported = {r[0]: r[1:] for r in rows[1:]}
    assert set(exported) == {
        '\'=HYPERLINK("http://x")',
        "'+62 jalan rusak",
        "'-1 lampu mati",
        "'@dlh sampah",
        "'\tbanjir",
        "'\rbanjir lagi",
        'biasa, dengan "kutip"\nbaris dua',
    }
    assert all(v == ["banjir_drainase", "Selebar", "", "instagram"] for v in exported.values())


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("", ""),
        ("sampah", "sampah"),
    ],
)
def test_spreadsheet_safe(cell: str, safe: str) -> None:
    assert spreadsheet_safe(cell) == safe


@pytest.mark.parametrize(
    ("text", "evidence", "expected"),
    [
        ("sampah di Padang Harapan", "padang harapan", ["Padang Harapan"]),
        ("sampah di kel. Padang Harapan!", "kelurahan padang harapan", ["Padang Harapan"]),
        (
            "sampah di Kelurahan Padang Harapan",
            "kelurahan padang harapan",
            ["Kelurahan Padang Harapan"],
        ),
        ("#padangharapan bau", "padangharapan", ["padangharapan"]),
        ("banjir di Sawah-Lebar lagi", "sawah lebar", ["Sawah-Lebar"]),
        ("banjir di SAWAHLEBAR", "sawah lebar", ["SAWAHLEBAR"]),
        ("jalan di Padang Harapannn rusak", "padang harapan", ["Padang Harapannn"]),
        ("warga Selebar dan selebar lagi", "selebar", ["Selebar", "selebar"]),
        # a word the lexicon rewrote is found as written ("bru" is read "baru")
        ("banjir di Sawah Lebar Bru lagi", "sawah lebar baru", ["Sawah Lebar Bru"]),
        ("banjir di sawahlebar bruuu", "sawahlebar baru", ["sawahlebar bruuu"]),
        # not the whole word: nothing rather than part of another word
        ("jalan di Padang Harapanku", "padang harapan", []),
        ("sampah di Kebun Tebeng", "padang harapan", []),
        ("RT 05 di sini", "_angka_", []),
        ("apa saja", None, []),
    ],
)
def test_evidence_spans(text: str, evidence: str | None, expected: list[str]) -> None:
    assert [text[s:e] for s, e in evidence_spans(text, evidence)] == expected
