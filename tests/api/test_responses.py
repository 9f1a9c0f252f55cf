"""Answers to posts, overdue posts (list and webhook), the response report (JSON, CSV, page),
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import service, storage
from api.app import create_app
from api.auth import Principal
from api.schemas import ResponseIn
from api.settings import Settings
from model.routing import Directory
from tests.api.conftest import bearer, create_key
from tests.conftest import DATA_DIR

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
H = timedelta(hours=1)


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.from_dir(DATA_DIR)


def store_case(
    db: storage.Database,
    tags: list[str],
    *,
    received_at: datetime = T0,
    respond_by: datetime | None = None,
    topic: str = "sampah",
    kecamatan: str | None = "Selebar",
    repeat_of: str | None = None,
    text: str = "sampah menumpuk di Selebar",
) -> str:
    """A stored post whose latest prediction tags exactly these officials."""
    prediction: dict[str, Any] = {
        "model_version": "v-test",
        "topic": topic,
        "confidence": 0.9,
        "margin": 0.8,
        "alternatives": [],
        "kecamatan": kecamatan,
        "kelurahan": None,
        "area_confidence": 0.9 if kecamatan else 0.0,
        "area_evidence": None,
        "tags": [
            {"official_id": t, "name": t, "role": "opd", "handles": {}, "reason": "r"} for t in tags
        ],
        "needs_review": False,
        "review_reasons": [],
        "respond_by": respond_by or received_at + DAY,
    }
    with db.session() as session:
        (row,) = storage.add_classified_posts(
            session,
            [storage.NewPost(text, "instagram", repeat_of=repeat_of)],
            [prediction],
            received_at,
        )
        return row.id


def answer(
    db: storage.Database,
    directory: Directory,
    post_id: str,
    at: datetime,
    **body: Any,
) -> None:
    with db.session() as session:
        key = next((k for k in storage.list_api_keys(session) if k.name == "desk"), None)
        if key is None:
            key = storage.add_api_key(session, "desk", "reviewer", "d" * 64)
        desk = Principal(key.id, key.name, key.role)
    service.add_response(
        db, directory, post_id, ResponseIn(responded_at=at, **body), desk, now=at + DAY * 30
    )


def review(db: storage.Database, post_id: str, decision: str, tags: list[str]) -> None:
    with db.session() as session:
        post = storage.get_post(session, post_id)
        assert post is not None
        storage.add_review(
            session,
            post,
            reviewer="ani",
            reviewer_key_id=None,
            decision=decision,
            before_topic="sampah",
            before_kecamatan="Selebar",
            before_kelurahan=None,
            before_tags=[],
            after_topic=None if decision == "reject" else "jalan",
            after_kecamatan=None if decision == "reject" else "Selebar",
            after_kelurahan=None,
            after_tags=tags,
            note="",
        )


def overdue_at(db: storage.Database, directory: Directory, at: datetime) -> dict[str, list[str]]:
    """Post id -> official ids still owing, for the posts overdue at `at`, in list order."""
    out = service.list_overdue(db, directory, limit=500, offset=0, at=at)
    assert out.total == len(out.items)
    return {item.post_id: [o.official_id for o in item.owing] for item in out.items}


# -- recording answers ---------------------------------------------------------------------------


def test_answers_are_recorded_with_their_history_and_shown_on_the_post(
    client: TestClient, db: storage.Database, reviewer_headers: dict[str, str]
) -> None:
    post_id = store_case(db, ["dlh", "camat-selebar"], received_at=datetime.now(UTC) - 6 * H)
    empty = client.get(f"/posts/{post_id}").json()
    assert (empty["responses"], empty["status"]) == ([], None)

    url = f"/posts/{post_id}/responses"
    received = datetime.fromisoformat(empty["received_at"])
    first = client.post(
        url,
        json={
            "official_id": "dlh",
            "platform": "instagram",
            "url": "https://instagram.com/p/abc",
            "status": "diterima",
            "responded_at": (received + H).isoformat(),
        },
        headers=reviewer_headers,
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["official_id"], body["office"], body["recorded_by"]) == ("dlh", "DLH", "ani")
    assert datetime.fromisoformat(body["responded_at"]) == received + H

    done = {"office": "DLH", "status": "selesai", "responded_at": (received + 5 * H).isoformat()}
    assert client.post(url, json=done, headers=reviewer_headers).status_code == 201
    # entered late but given earlier: history goes by when answers were given
    late_entry = {
        "office": "DLH",
        "status": "diproses",
        "responded_at": (received + 3 * H).isoformat(),
    }
    assert client.post(url, json=late_entry, headers=reviewer_headers).status_code == 201
    # no responded_at: now; no status: the case keeps the one it had
    camat = client.post(url, json={"official_id": "camat-selebar"}, headers=reviewer_headers)
    assert camat.status_code == 201, camat.text
    assert camat.json()["office"] is None

    post = client.get(f"/posts/{post_id}").json()
    assert [r["status"] for r in post["responses"]] == ["diterima", "diproses", "selesai", None]
    assert [r["official_id"] for r in post["responses"]] == ["dlh", None, None, "camat-selebar"]
    assert post["status"] == "selesai"


BAD_ANSWERS = [
    ({}, "say who answered"),
    ({"official_id": "walikota-palsu"}, "unknown official id 'walikota-palsu'"),
    ({"office": "DINAS-X"}, "unknown office 'DINAS-X'"),
    (
        {"official_id": "dlh", "office": "PUPR"},
        "official 'dlh' belongs to office 'DLH', not 'PUPR'",
    ),
    ({"official_id": "camat-selebar", "office": "DLH"}, "belongs to no office"),
    ({"official_id": "dlh", "status": "beres"}, "status"),
    ({"official_id": "dlh", "platform": "telegram"}, "platform"),
    ({"official_id": "dlh", "note": "a\u0000b"}, "NUL"),
    ({"official_id": "dlh", "responded_at": "2999-01-01T00:00:00Z"}, "is in the future"),
    ({"official_id": "dlh", "responded_at": "2000-01-01T00:00:00Z"}, "before the post was made"),
    ({"official_id": "dlh", "who": "x"}, "who"),
]


@pytest.mark.parametrize(("body", "message"), BAD_ANSWERS)
def test_bad_answers_are_422_with_a_clear_message(
    client: TestClient,
    db: storage.Database,
    reviewer_headers: dict[str, str],
    body: dict[str, Any],
    message: str,
) -> None:
    post_id = store_case(db, ["dlh"], received_at=datetime.now(UTC) - H)
    response = client.post(f"/posts/{post_id}/responses", json=body, headers=reviewer_headers)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert client.get(f"/posts/{post_id}").json()["responses"] == []


def test_answer_to_an_unknown_post_is_404(
    client: TestClient, reviewer_headers: dict[str, str]
) -> None:
    response = client.post(
        "/posts/nope/responses", json={"official_id": "dlh"}, headers=reviewer_headers
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "no post with id 'nope'"


ROUTES = [
    ("POST", "/posts/{post_id}/responses", {"official_id": "dlh"}, 201),
    ("GET", "/reports/overdue", None, 200),
    ("GET", "/reports/response-times", None, 200),
    ("GET", "/reports/response-times?format=csv", None, 200),
    ("GET", "/reports/response-times.html", None, 200),
]


@pytest.mark.parametrize(("method", "path", "body", "ok"), ROUTES)
def test_every_route_needs_a_reviewer_or_admin_key(
    client: TestClient,
    db: storage.Database,
    settings: Settings,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    ok: int,
) -> None:
    post_id = store_case(db, ["dlh"], received_at=datetime.now(UTC) - H)
    url = path.format(post_id=post_id)

    def call(headers: dict[str, str]) -> int:
        return client.request(method, url, json=body, headers=headers).status_code

    no_key = client.request(method, url, json=body)
    assert no_key.status_code == 401
    assert no_key.headers["www-authenticate"] == "Bearer"
    assert call(bearer("tdk_not-a-key")) == 401
    # a key of another role (none is made today, but the route must ask for the role)
    reader = create_key(settings.database_url, "reviewer", "reader")
    with db.session() as session:
        for row in storage.list_api_keys(session):
            if row.name == "reader":
                row.role = "reader"
    assert call(bearer(reader)) == 403
    assert call(bearer(create_key(settings.database_url, "reviewer"))) == ok
    assert call(bearer(create_key(settings.database_url, "admin"))) == ok


# -- overdue -------------------------------------------------------------------------------------


def test_overdue_follows_tags_answers_reviews_and_repeats_at_chosen_moments(
    db: storage.Database, directory: Directory
) -> None:
    both = store_case(db, ["dlh", "camat-selebar"], received_at=T0)
    repeat = store_case(db, [], received_at=T0 + H, repeat_of=both)
    rejected = store_case(db, ["dlh"], received_at=T0 + 2 * H)
    review(db, rejected, "reject", [])
    corrected = store_case(db, ["dlh"], received_at=T0 + 3 * H)
    review(db, corrected, "correct", ["pupr"])
    by_office = store_case(db, ["dlh"], received_at=T0 + 4 * H)
    untagged = store_case(db, [], received_at=T0 + 5 * H)
    early = store_case(db, ["pdam"], received_at=T0 - 10 * H)

    # before any deadline nothing is overdue; exactly at it, not yet
    assert overdue_at(db, directory, T0 + 13 * H) == {}
    assert overdue_at(db, directory, T0 + DAY) == {early: ["pdam"]}

    answer(db, directory, both, T0 + 2 * H, official_id="dlh")
    answer(db, directory, by_office, T0 + 30 * H, office="DLH")  # late, but answered
    answer(db, directory, both, T0 + 40 * H, official_id="camat-selebar")

    at = T0 + 36 * H
    listed = overdue_at(db, directory, at)
    # oldest deadline first; the camat still owes; the office answer counts only after it came
    assert listed == {
        early: ["pdam"],
        both: ["camat-selebar"],
        corrected: ["pupr"],
    }
    assert list(listed) == [early, both, corrected]
    for gone in (repeat, rejected, by_office, untagged):
        assert gone not in listed

    later = overdue_at(db, directory, T0 + 41 * H)
    assert both not in later and corrected in later
    out = service.list_overdue(db, directory, limit=1, offset=1, at=at)
    assert (out.total, [i.post_id for i in out.items]) == (3, [both])
    item = out.items[0]
    assert item.repeats == 1 and item.hours_overdue == 12.0
    assert item.owing[0].name == "Camat Selebar"


def test_overdue_route_lists_what_service_lists(
    client: TestClient, db: storage.Database, reviewer_headers: dict[str, str]
) -> None:
    late = store_case(db, ["dlh"], received_at=T0)
    store_case(db, ["dlh"], received_at=T0 + 2 * DAY)
    response = client.get(
        "/reports/overdue", params={"at": (T0 + 30 * H).isoformat()}, headers=reviewer_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    (item,) = body["items"]
    assert item["post_id"] == late and item["hours_overdue"] == 6.0
    assert item["owing"] == [
        {
            "official_id": "dlh",
            "name": "Dinas Lingkungan Hidup Kota Bengkulu",
            "office": "DLH",
            "handles": {},
        }
    ]


# -- the webhook ---------------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post_ids(self) -> list[str]:
        with self.lock:
            return [b["post"]["post_id"] for b in self.bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP server on a free port that keeps every JSON body POSTed to it."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.fail:
                self.send_response(500)
                self.end_headers()
                return
            with state.lock:
                state.bodies.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_webhook_is_sent_once_per_post_across_rounds_and_workers(
    db: storage.Database, directory: Directory, settings: Settings, receiver: Receiver
) -> None:
    hooked = settings.model_copy(update={"overdue_webhook_url": receiver.url})
    first = store_case(db, ["dlh", "camat-selebar"], received_at=T0)
    answered = store_case(db, ["dlh"], received_at=T0)
    answer(db, directory, answered, T0 + H, official_id="dlh")
    store_case(db, ["dlh"], received_at=T0 - 30 * DAY)  # overdue long ago: not announced

    assert service.notify_overdue(db, directory, hooked, at=T0 + 23 * H) == 0
    assert service.notify_overdue(db, directory, settings, at=T0 + 30 * H) == 0  # no URL: off
    assert receiver.post_ids() == []
    assert service.notify_overdue(db, directory, hooked, at=T0 + 25 * H) == 1
    assert service.notify_overdue(db, directory, hooked, at=T0 + 26 * H) == 0
    (body,) = receiver.bodies
    assert body["event"] == "post.overdue"
    assert body["post"]["post_id"] == first
    assert {o["official_id"] for o in body["post"]["owing"]} == {"dlh", "camat-selebar"}

    # several workers at once (each with its own engine), on a post newly overdue
    second = store_case(db, ["pupr"], received_at=T0 + 2 * DAY)
    start = threading.Barrier(4)
    sent: list[int] = []

    def worker() -> None:
        own = storage.Database(settings.database_url)
        try:
            start.wait()
            sent.append(service.notify_overdue(own, directory, hooked, at=T0 + 4 * DAY))
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sent) == [0, 0, 0, 1]
    assert receiver.post_ids() == [first, second]


def test_failed_webhook_is_tried_again_next_round(
    db: storage.Database, directory: Directory, settings: Settings, receiver: Receiver
) -> None:
    hooked = settings.model_copy(update={"overdue_webhook_url": receiver.url})
    post_id = store_case(db, ["dlh"], received_at=T0)
    receiver.fail = True
    assert service.notify_overdue(db, directory, hooked, at=T0 + 25 * H) == 0
    receiver.fail = False
    assert service.notify_overdue(db, directory, hooked, at=T0 + 26 * H) == 1
    assert receiver.post_ids() == [post_id]
    with db.session() as session:
        post = storage.get_post(session, post_id)
        assert post is not None and post.overdue_notified_at == T0 + 26 * H


def test_the_app_announces_overdue_posts_in_the_background(
    settings: Settings, db: storage.Database, directory: Directory, receiver: Receiver
) -> None:
    post_id = store_case(db, ["dlh"], received_at=datetime.now(UTC) - 2 * DAY)
    hooked = settings.model_copy(
        update={"overdue_webhook_url": receiver.url, "overdue_check_seconds": 0.05}
    )
    with TestClient(create_app(hooked)):
        deadline = time.monotonic() + 20
        while not receiver.post_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        # what another worker would do next: nothing left to send
        assert service.notify_overdue(db, directory, hooked) == 0
    assert receiver.post_ids() == [post_id]


# -- the response report -------------------------------------------------------------------------


@pytest.fixture
def answered_posts(db: storage.Database, directory: Directory) -> dict[str, str]:
    """Posts of 2 and 3 November with answers after 2, 10, 30 hours and none."""
    ids = {
        "a": store_case(db, ["dlh", "camat-selebar"], received_at=T0),
        "b": store_case(db, ["dlh"], received_at=T0 + H, topic="banjir_drainase"),
        "c": store_case(db, ["dlh"], received_at=T0 + 2 * H, kecamatan="Ratu Agung"),
        "d": store_case(db, ["pupr"], received_at=T0 + DAY, topic="jalan"),
    }
    store_case(db, [], received_at=T0 + 3 * H, repeat_of=ids["a"])
    store_case(db, [], received_at=T0 + 4 * H, repeat_of=ids["a"])
    answer(db, directory, ids["a"], T0 + 2 * H, official_id="dlh", status="diterima")
    answer(db, directory, ids["a"], T0 + 3 * H, official_id="camat-selebar")
    answer(db, directory, ids["b"], T0 + 11 * H, office="DLH")
    answer(db, directory, ids["c"], T0 + 32 * H, official_id="dlh")
    return ids


def report(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    params.setdefault("at", (T0 + 3 * DAY).isoformat())
    response = client.get("/reports/response-times", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_report_by_office_counts_window_median_p90_overdue_and_repeats(
    client: TestClient, reviewer_headers: dict[str, str], answered_posts: dict[str, str]
) -> None:
    body = report(client, reviewer_headers)
    assert (body["group_by"], body["window_hours"]) == ("office", 24.0)
    rows = {r["group"]: r for r in body["rows"]}
    assert list(rows) == ["DLH", "PUPR", "camat-selebar"]  # largest count first
    dlh = rows["DLH"]
    assert (dlh["count"], dlh["answered"], dlh["answered_within_window"]) == (3, 3, 2)
    assert dlh["median_hours"] == 10.0
    assert dlh["p90_hours"] == pytest.approx(10 + 0.8 * (30 - 10))
    assert (dlh["overdue_now"], dlh["repeats"]) == (0, 2)
    assert rows["PUPR"]["answered"] == 0 and rows["PUPR"]["overdue_now"] == 1
    assert rows["camat-selebar"]["median_hours"] == 3.0
    # an earlier moment: answers after it do not count yet
    early = {
        r["group"]: r
        for r in report(client, reviewer_headers, at=(T0 + 27 * H).isoformat())["rows"]
    }
    assert early["DLH"]["answered"] == 2 and early["DLH"]["overdue_now"] == 1


@pytest.mark.parametrize(
    ("group_by", "groups"),
    [
        ("official", {"dlh": 3, "pupr": 1, "camat-selebar": 1}),
        ("kecamatan", {"Selebar": 4, "Ratu Agung": 1}),
        ("topic", {"sampah": 3, "banjir_drainase": 1, "jalan": 1}),
    ],
)
def test_report_groups(
    client: TestClient,
    reviewer_headers: dict[str, str],
    answered_posts: dict[str, str],
    group_by: str,
    groups: dict[str, int],
) -> None:
    rows = report(client, reviewer_headers, group_by=group_by)["rows"]
    assert {r["group"]: r["count"] for r in rows} == groups


def test_report_period_and_csv(
    client: TestClient, reviewer_headers: dict[str, str], answered_posts: dict[str, str]
) -> None:
    only_day_two = report(
        client, reviewer_headers, since=(T0 + DAY).isoformat(), until=(T0 + 2 * DAY).isoformat()
    )
    assert [(r["group"], r["count"]) for r in only_day_two["rows"]] == [("PUPR", 1)]

    response = client.get(
        "/reports/response-times",
        params={"format": "csv", "group_by": "official", "at": (T0 + 3 * DAY).isoformat()},
        headers=reviewer_headers,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "response-times-official.csv" in response.headers["content-disposition"]
    parsed = list(csv.DictReader(io.StringIO(response.text)))
    dlh = next(r for r in parsed if r["group"] == "dlh")
    assert (dlh["count"], dlh["answered_within_window"], dlh["median_hours"]) == ("3", "2", "10.0")
    assert dlh["share_within_window"] == "0.667"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"since": "2026-11-03T00:00:00Z", "until": "2026-11-02T00:00:00Z"},
            "since must be before",
        ),
        ({"group_by": "dinas"}, "group_by"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_bad_report_queries_are_422(
    client: TestClient, reviewer_headers: dict[str, str], params: dict[str, str], message: str
) -> None:
    response = client.get("/reports/response-times", params=params, headers=reviewer_headers)
    assert response.status_code == 422
    assert message in response.json()["detail"]


# -- the page --------------------------------------------------------------------------------------


def test_report_page_signs_in_and_renders_table_and_chart(
    client: TestClient,
    db: storage.Database,
    reviewer_headers: dict[str, str],
    answered_posts: dict[str, str],
) -> None:
    page = client.get("/reports")
    assert page.status_code == 200
    assert '<html lang="id">' in page.text
    assert 'id="signin-form"' in page.text and "/static/reports.js" in page.text
    assert client.get("/static/reports.js").status_code == 200

    store_case(db, ["dlh"], received_at=T0, topic="<b>topik</b>")
    fragment = client.get(
        "/reports/response-times.html", params={"group_by": "topic"}, headers=reviewer_headers
    )
    assert fragment.status_code == 200
    html = fragment.text
    assert "<html" not in html  # a fragment for the page, not a page
    assert 'id="report-table"' in html and "Per topik" in html
    assert '<th scope="row">sampah<small>Sampah</small></th>' in html
    assert "&lt;b&gt;topik&lt;/b&gt;" in html and "<b>topik</b>" not in html
    assert 'src="data:image/svg+xml;base64,' in html  # the chart is per office
    assert "Dijawab dalam 24 jam, per perangkat daerah" in html


def test_report_page_without_posts_says_so(
    client: TestClient, reviewer_headers: dict[str, str]
) -> None:
    html = client.get("/reports/response-times.html", headers=reviewer_headers).text
    assert "Tidak ada unggahan yang menunggu jawaban" in html
    assert "data:image/svg+xml" not in html


# -- bulk loading (bench/surabaya_responses.py) ---------------------------------------------------


def test_imported_posts_report_by_their_own_office_names(
    db: storage.Database, settings: Settings
) -> None:
    office = "Dinas Sumber Daya Air dan Bina Marga"

    def item(hours: float | None, at: datetime) -> storage.ImportedPost:
        tag = {"official_id": office, "name": office, "role": "opd", "handles": {}, "reason": ""}
        return storage.ImportedPost(
            post=storage.NewPost("jalan rusak", "other"),
            received_at=at,
            prediction={
                "model_version": "import",
                "topic": "Jalan",
                "confidence": 1.0,
                "margin": 1.0,
                "alternatives": [],
                "kecamatan": "Tegalsari",
                "kelurahan": None,
                "area_confidence": 1.0,
                "area_evidence": None,
                "tags": [tag],
                "needs_review": False,
                "review_reasons": [],
                "respond_by": at + DAY,
            },
            responses=[]
            if hours is None
            else [
                {
                    "office": office,
                    "responded_at": at + timedelta(hours=hours),
                    "recorded_by": "import",
                }
            ],
        )

    with db.session() as session:
        ids = storage.add_imported_posts(
            session, [item(5, T0), item(50, T0 + H), item(None, T0 + 2 * H)]
        )
    assert len(set(ids)) == 3
    result = service.response_report(db, None, settings, at=T0 + 10 * DAY)
    (row,) = result.rows("office")
    assert (row.group, row.count, row.answered, row.answered_within_window) == (office, 3, 2, 1)
    assert row.median_hours == pytest.approx(27.5) and row.overdue_now == 1
