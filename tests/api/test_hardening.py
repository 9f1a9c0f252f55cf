"""Bad input and limits: every case of issue 7 item 2 gets a 4xx with a message or a sound
prediction, never a 500; bodies over the size limit get 413 with or without a Content-Length;
a client over its rate gets 429 with Retry-After; the OpenAPI schema holds under schemathesis;
a tampered model is refused at start-up without being unpickled."""

from __future__ import annotations

import json
import logging
import os
import pickle
import select
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from api.app import create_app
from api.logging import JsonFormatter
from api.middleware import BodySizeLimit, TokenBuckets, client_key
from api.settings import Settings
from model.artifact import ModelArtifact, sha256_file
from tests.api.conftest import bearer, create_key
from tests.conftest import DATA_DIR, count_stored_posts, free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
SOUND_TOPIC_KEYS = {"label", "confidence", "alternatives"}


def _sqlite_settings(tiny_model: ModelArtifact, tmp_path: Path, **update: Any) -> Settings:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'tandai.db'}",
        model_dir=tiny_model.path.parent,
        data_dir=DATA_DIR,
    )
    return settings.model_copy(update=update) if update else settings


@pytest.fixture
def sqlite_client(tiny_model: ModelArtifact, tmp_path: Path) -> Iterator[TestClient]:
    settings = _sqlite_settings(tiny_model, tmp_path, batch_requires_key=False)
    with TestClient(create_app(settings)) as c:
        yield c


def _post_raw(client: TestClient, body: bytes, path: str = "/classify") -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json"})


def _assert_sound(client: TestClient, response: Any, text: str) -> None:
    """A 200 with a full prediction, and the post stored exactly as sent."""
    assert response.status_code == 200, response.text
    body = response.json()
    labels = {t["code"] for t in client.get("/topics").json()}
    assert set(body["topic"]) == SOUND_TOPIC_KEYS
    assert body["topic"]["label"] in labels
    assert 0.0 <= body["topic"]["confidence"] <= 1.0
    stored = client.get(f"/posts/{body['id']}")
    assert stored.status_code == 200
    assert stored.json()["text"] == text


def _assert_rejected(response: Any, status: int = 422, *words: str) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    for word in words:
        assert word in detail
    return detail


# -- the cases of item 2 -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "   \n\t ", "\u3000\u00a0 "])
def test_empty_or_whitespace_text_is_422(sqlite_client: TestClient, text: str) -> None:
    _assert_rejected(sqlite_client.post("/classify", json={"text": text}), 422, "text", "empty")


@pytest.mark.parametrize(
    "text",
    [
        "\u200b\u200c\u200d\u2060\ufeff",  # zero-width only
        "sampah\u200bmenumpuk di\u200d Sawah\u2060Lebar",
        "\u202esampah menumpuk\u202c di \u2066Sawah Lebar\u2069",  # bidi override and isolates
        "\u200fجalan\u200e rusak\u061c",
    ],
)
def test_zero_width_and_bidi_controls_get_a_prediction(client: TestClient, text: str) -> None:
    _assert_sound(client, client.post("/classify", json={"text": text}), text)


@pytest.mark.parametrize("text", ["😡😡😡", "🗑️🗑️", "👨\u200d👩\u200d👧 🇮🇩", "❤️" * 1000])
def test_emoji_only_posts_get_a_prediction(client: TestClient, text: str) -> None:
    _assert_sound(client, client.post("/classify", json={"text": text}), text)


def test_five_thousand_of_one_letter_is_classified_and_one_more_is_422(
    client: TestClient,
) -> None:
    text = "a" * 5000
    _assert_sound(client, client.post("/classify", json={"text": text}), text)
    _assert_rejected(client.post("/classify", json={"text": text + "a"}), 422, "5001", "5000")


def test_nul_bytes_are_a_422_in_every_string_field(client: TestClient, settings: Settings) -> None:
    bodies = {
        "text": b'{"text": "sampah\\u0000menumpuk"}',
        "text ": b'{"text": "\\u0000\\u0000"}',
        "author": b'{"text": "sampah", "author": "bu\\u0000di"}',
        "external_id": b'{"text": "sampah", "external_id": "\\u0000"}',
        "url": b'{"text": "sampah", "url": "http://x/\\u0000"}',
    }
    for field, body in bodies.items():
        response = _post_raw(client, body)
        _assert_rejected(response, 422, field.strip(), "NUL")
    assert count_stored_posts(settings.database_url) == 0


def test_raw_control_characters_are_invalid_json(sqlite_client: TestClient) -> None:
    response = _post_raw(sqlite_client, b'{"text": "sampah \x00 menumpuk"}')
    _assert_rejected(response, 422, "not valid JSON")


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "sampah \\udc00 menumpuk"])
def test_lone_surrogate_in_text_is_422(sqlite_client: TestClient, escape: str) -> None:
    body = b'{"text": "' + escape.encode() + b'"}'
    _assert_rejected(_post_raw(sqlite_client, body), 422, "text")


@pytest.mark.parametrize("field", ["author", "external_id", "url", "source"])
def test_lone_surrogate_in_other_fields_is_422(sqlite_client: TestClient, field: str) -> None:
    body = b'{"text": "sampah", "' + field.encode() + b'": "x\\ud800"}'
    detail = _assert_rejected(_post_raw(sqlite_client, body), 422, field)
    assert "\ud800" not in detail


@pytest.mark.parametrize(
    ("content_type", "said"),
    [
        ("text/plain", "'text/plain'"),
        ("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded'"),  # curl -d
        (None, "without one"),
    ],
)
@pytest.mark.parametrize("path", ["/classify", "/classify/batch"])
def test_a_json_body_sent_without_the_json_content_type_says_so(
    sqlite_client: TestClient, tmp_path: Path, content_type: str | None, said: str, path: str
) -> None:
    body = {"text": "sampah menumpuk"} if path == "/classify" else {"posts": [{"text": "x"}]}
    headers = {"content-type": content_type} if content_type else {}
    response = sqlite_client.post(path, content=json.dumps(body).encode(), headers=headers)
    _assert_rejected(response, 422, "Content-Type: application/json", said)
    assert count_stored_posts(f"sqlite:///{tmp_path / 'tandai.db'}") == 0


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/x+json"])
def test_json_content_types_with_parameters_or_suffixes_are_read(
    sqlite_client: TestClient, content_type: str
) -> None:
    body = json.dumps({"text": "sampah menumpuk"}).encode()
    response = sqlite_client.post("/classify", content=body, headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    wrong = sqlite_client.post("/classify", content=b"[1]", headers={"content-type": content_type})
    _assert_rejected(wrong, 422, "request body")
    assert "Content-Type" not in wrong.json()["detail"]


def test_invalid_utf8_body_is_400(sqlite_client: TestClient) -> None:
    _assert_rejected(_post_raw(sqlite_client, b'{"text": "sampah \xff\xfe"}'), 400, "body")


@pytest.mark.parametrize(
    "body",
    [
        {"text": 42},
        {"text": None},
        {"text": ["sampah"]},
        {"text": {"isi": "sampah"}},
        {"text": True},
        {"text": "ok", "source": 1},
        {"text": "ok", "posted_at": []},
        {"text": "ok", "external_id": 12},
        ["sampah"],
        "sampah",
        None,
        17,
    ],
)
def test_wrong_json_types_are_422(sqlite_client: TestClient, body: Any) -> None:
    _assert_rejected(sqlite_client.post("/classify", json=body), 422)


@pytest.mark.parametrize(
    "body",
    [
        {"posts": "sampah"},
        {"posts": [1, 2]},
        {"posts": [{"text": 1}]},
        {"posts": None},
        {"posts": {"text": "sampah"}},
        [{"text": "sampah"}],
    ],
)
def test_wrong_json_types_in_batch_are_422(sqlite_client: TestClient, body: Any) -> None:
    _assert_rejected(sqlite_client.post("/classify/batch", json=body), 422)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": NaN}',
        b'{"text": Infinity}',
        b'{"text": "ok", "posted_at": NaN}',
        b'{"text": "ok", "posted_at": -Infinity}',
        b'{"text": "ok", "posted_at": 1e400}',
        b'{"posts": [{"text": NaN}]}',
    ],
)
def test_non_finite_numbers_are_422_not_500(sqlite_client: TestClient, raw: bytes) -> None:
    """Python's JSON reader accepts NaN and Infinity; echoing them back once gave a 500."""
    path = "/classify/batch" if raw.startswith(b'{"posts"') else "/classify"
    response = _post_raw(sqlite_client, raw, path)
    _assert_rejected(response, 422)
    assert all(isinstance(e, dict) for e in response.json()["errors"])


@pytest.mark.parametrize(
    ("posted_at", "words"),
    [
        # an answer deadline past the last date there is once gave a 500
        ("9999-12-31T23:59:59Z", ("posted_at", "future")),
        ("9999-12-31T23:00:00-05:00", ("posted_at", "out of range")),
        ("0001-01-01T00:00:00+01:00", ("posted_at", "out of range")),
        ("2099-01-01T00:00:00", ("posted_at", "future")),
    ],
)
def test_posted_at_out_of_range_or_in_the_future_is_422(
    sqlite_client: TestClient, posted_at: str, words: tuple[str, ...]
) -> None:
    body = {"text": "sampah menumpuk", "posted_at": posted_at}
    _assert_rejected(sqlite_client.post("/classify", json=body), 422, *words)
    batch = sqlite_client.post("/classify/batch", json={"posts": [{"text": "ok"}, body]})
    _assert_rejected(batch, 422, "posted_at")


def test_posted_at_a_few_hours_ahead_is_a_local_time_and_accepted(
    sqlite_client: TestClient,
) -> None:
    """A desk's tool sending WIB (UTC+7) without its offset reads 7 hours ahead."""
    ahead = (datetime.now(UTC) + timedelta(hours=7)).replace(tzinfo=None, microsecond=0)
    response = sqlite_client.post("/classify", json={"text": "ok", "posted_at": ahead.isoformat()})
    assert response.status_code == 200, response.text
    stored = sqlite_client.get(f"/posts/{response.json()['id']}").json()
    assert datetime.fromisoformat(stored["posted_at"]) == ahead.replace(tzinfo=UTC)
    assert datetime.fromisoformat(response.json()["respond_by"]) == ahead.replace(
        tzinfo=UTC
    ) + timedelta(hours=24)


@pytest.mark.parametrize("bound", ["since", "until"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_post_list_bounds_without_a_utc_time_are_422(
    tiny_model: ModelArtifact, tmp_path: Path, bound: str, value: str
) -> None:
    settings = _sqlite_settings(tiny_model, tmp_path)
    with TestClient(create_app(settings)) as c:
        headers = bearer(create_key(settings.database_url, "reviewer"))
        response = c.get("/posts", params={bound: value}, headers=headers)
        _assert_rejected(response, 422, bound, "out of range")
        fine = c.get("/posts", params={bound: "2026-01-01T00:00:00+07:00"}, headers=headers)
        assert fine.status_code == 200, fine.text


def test_unknown_fields_are_422_and_named(sqlite_client: TestClient) -> None:
    response = sqlite_client.post("/classify", json={"text": "sampah", "likes": 3})
    _assert_rejected(response, 422, "likes")
    batch = sqlite_client.post("/classify/batch", json={"posts": [{"text": "a"}], "extra": 1})
    _assert_rejected(batch, 422, "extra")
    nested = sqlite_client.post("/classify/batch", json={"posts": [{"text": "a", "likes": 1}]})
    _assert_rejected(nested, 422, "posts.0.likes")


def test_validation_detail_is_one_line_with_structured_errors(sqlite_client: TestClient) -> None:
    response = sqlite_client.post("/classify", json={"text": 1, "source": "myspace", "x": 0})
    detail = _assert_rejected(response, 422, "text", "source", "x")
    assert "\n" not in detail
    errors = response.json()["errors"]
    assert {tuple(e["loc"]) for e in errors} >= {("body", "text"), ("body", "source")}


# -- body size -----------------------------------------------------------------------------------


def test_oversized_body_with_content_length_is_413(
    tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    settings = _sqlite_settings(tiny_model, tmp_path, max_body_bytes=2_000)
    with TestClient(create_app(settings)) as c:
        body = json.dumps({"text": "sampah " * 400}).encode()
        assert len(body) > 2_000
        response = _post_raw(c, body)
        _assert_rejected(response, 413, "2000 bytes")
        assert response.headers["content-type"] == "application/json"
        ok = json.dumps({"text": "sampah " * 200}).encode()
        assert len(ok) <= 2_000
        assert _post_raw(c, ok).status_code == 200
    assert count_stored_posts(settings.database_url) == 1


def test_oversized_body_without_content_length_is_413(
    tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    settings = _sqlite_settings(
        tiny_model, tmp_path, max_body_bytes=2_000, batch_requires_key=False
    )
    chunks = [b'{"posts": [', *([b'{"text": "sampah menumpuk"},'] * 200), b'{"text": "x"}]}']
    with TestClient(create_app(settings)) as c:
        response = c.post(
            "/classify/batch", content=iter(chunks), headers={"content-type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        _assert_rejected(response, 413, "2000 bytes")
    assert count_stored_posts(settings.database_url) == 0


async def _echo_length(scope: Any, receive: Any, send: Any) -> None:
    """A stand-in app that reads its whole body and answers with its length."""
    total, more = 0, True
    while more:
        message = await receive()
        total += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(total).encode()})


def test_streamed_body_is_cut_off_at_the_limit() -> None:
    """Chunks are counted as they arrive and nothing past the limit is read."""

    async def run() -> tuple[int, list[dict[str, Any]]]:
        chunks = [{"type": "http.request", "body": b"x" * 100, "more_body": True}] * 1000
        pulled = 0
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal pulled
            pulled += 1
            return chunks[pulled - 1]

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
        await BodySizeLimit(_echo_length, max_bytes=1_000)(scope, receive, send)
        return pulled, sent

    pulled, sent = anyio.run(run)
    assert pulled == 11  # 1,100 bytes: the chunk that crossed the limit is the last one read
    assert sent[0]["status"] == 413
    assert b"1000 bytes" in sent[1]["body"]


def test_chunked_body_over_the_limit_is_413_from_a_real_server(
    tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    """Over a socket, with Transfer-Encoding: chunked and no Content-Length."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TANDAI_DATABASE_URL": f"sqlite:///{tmp_path / 'tandai.db'}",
        "TANDAI_MODEL_DIR": str(tiny_model.path.parent),
        "TANDAI_DATA_DIR": str(DATA_DIR),
        "TANDAI_MAX_BODY_BYTES": "1000000",
    }
    cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, seconds=60, path="/health")
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b'{"text": "' + b"a" * 65_000
            answer = b""
            for _ in range(40):  # 2.6 MB offered, 1 MB allowed
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:
                    break  # the server answered and closed
                ready, _, _ = select.select([sock], [], [], 0)
                if ready:
                    break
            while chunk_in := sock.recv(65536):
                answer += chunk_in
                if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                    break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"1000000 bytes" in body


# -- rate limit ----------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(tiny_model: ModelArtifact, tmp_path: Path) -> None:
    settings = _sqlite_settings(tiny_model, tmp_path, rate_limit_per_minute=3)
    with TestClient(create_app(settings)) as c:
        for _ in range(3):
            assert c.get("/topics").status_code == 200
        response = c.get("/topics")
        _assert_rejected(response, 429, "3 per minute")
        assert int(response.headers["retry-after"]) >= 1
        # the probes stay open to a throttled client
        assert c.get("/health").status_code == 200
        assert c.get("/ready").status_code == 200
        # another key is another bucket
        keyed = {"authorization": "Bearer some-other-key"}
        assert c.get("/topics", headers=keyed).status_code == 200
        throttled = c.post("/classify", json={"text": "sampah menumpuk"})
        assert throttled.status_code == 429
    assert count_stored_posts(settings.database_url) == 0


def test_token_bucket_refills_at_the_configured_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=60, clock=lambda: now[0])
    assert all(buckets.take("a") == 0.0 for _ in range(60))
    wait = buckets.take("a")
    assert wait == pytest.approx(1.0)  # 60 per minute: one token a second
    assert buckets.take("b") == 0.0
    now[0] += 0.5
    assert buckets.take("a") == pytest.approx(0.5)  # half a token has come back
    now[0] += 30.0
    granted = sum(buckets.take("a") == 0.0 for _ in range(100))
    assert granted == 30  # 30.5 tokens after 30.5 s: 30 whole requests


def test_token_buckets_forget_the_least_recent_client_beyond_max_keys() -> None:
    buckets = TokenBuckets(per_minute=1, clock=lambda: 0.0, max_keys=2)
    assert buckets.take("a") == 0.0
    assert buckets.take("b") == 0.0
    assert buckets.take("c") == 0.0
    assert buckets.take("b") > 0  # still remembered
    assert buckets.take("a") == 0.0  # forgotten, so a fresh bucket


def test_rate_limit_key_is_the_hashed_token_or_the_address() -> None:
    scope = {
        "type": "http",
        "headers": [(b"authorization", b"Bearer s3cret")],
        "client": ("1.2.3.4", 5),
    }
    key = client_key(scope)
    assert key.startswith("key:") and "s3cret" not in key
    assert client_key({**scope, "headers": [(b"authorization", b"bearer s3cret")]}) == key
    assert client_key({**scope, "headers": []}) == "addr:1.2.3.4"


# -- request id and logs -------------------------------------------------------------------------


def test_request_id_is_echoed_or_generated(sqlite_client: TestClient) -> None:
    given_id = "abc-123.DEF:9_x"
    response = sqlite_client.get("/health", headers={"X-Request-ID": given_id})
    assert response.headers["x-request-id"] == given_id
    generated = sqlite_client.get("/health").headers["x-request-id"]
    assert len(generated) == 32 and generated != given_id
    for bad in ("has space", "x" * 129, "a/b", "<script>", ""):
        echoed = sqlite_client.get("/health", headers={"X-Request-ID": bad}).headers
        assert echoed["x-request-id"] != bad
    assert sqlite_client.get("/nope").headers["x-request-id"]
    limited = sqlite_client.post("/classify", content=b"x", headers={"content-length": "10"})
    assert limited.headers["x-request-id"]


def test_logs_are_json_with_request_id_and_never_the_text(
    sqlite_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "rahasia-warga-9f3b sampah menumpuk di Sawah Lebar"
    caplog.set_level(logging.DEBUG, logger="tandai")
    response = sqlite_client.post(
        "/classify", json={"text": secret, "author": "budi"}, headers={"X-Request-ID": "req-42"}
    )
    assert response.status_code == 200
    sqlite_client.post("/classify", json={"text": secret, "nope": 1})  # a 422 logs no text either
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    entries = [json.loads(line) for line in lines]
    requests = [e for e in entries if e["message"] == "request"]
    assert {"method", "path", "route", "status", "duration_ms", "request_id"} <= set(requests[0])
    assert any(e["request_id"] == "req-42" and e["status"] == 200 for e in requests)
    assert {e["status"] for e in requests} >= {200, 422}
    info_and_up = [line for r, line in zip(caplog.records, lines, strict=True) if r.levelno >= 20]
    assert all("rahasia-warga-9f3b" not in line for line in info_and_up)


# -- tampered model at start-up ------------------------------------------------------------------


def test_tampered_newest_model_is_not_loaded_and_not_ready(
    tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    shutil.copytree(tiny_model.path, models / tiny_model.path.name)
    newest = models / "20990101T000000000000Z"
    shutil.copytree(tiny_model.path, newest)
    marker = tmp_path / "unpickled"

    class Planted:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    (newest / "model.joblib").write_bytes(pickle.dumps(Planted()))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", model_dir=models, data_dir=DATA_DIR
    )
    with TestClient(create_app(settings)) as c:
        ready = c.get("/ready")
        assert ready.status_code == 503
        assert "does not match" in ready.json()["status"]
        assert "20990101T000000000000Z" in ready.json()["status"]
        assert c.get("/health").status_code == 200
        refused = c.post("/classify", json={"text": "sampah menumpuk"})
        _assert_rejected(refused, 503, "does not match")
    assert not marker.exists()
    assert count_stored_posts(settings.database_url) == 0


def test_model_rewritten_with_matching_metadata_is_refused_by_the_database_hash(
    tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    """Whoever can write the model directory can rewrite metadata.json to match a planted file;
    the hash the database recorded when the version was activated must still stop it."""
    models = tmp_path / "models"
    version_dir = models / tiny_model.path.name
    shutil.copytree(tiny_model.path, version_dir)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", model_dir=models, data_dir=DATA_DIR
    )
    admin = bearer(create_key(settings.database_url, "admin"))
    with TestClient(create_app(settings)) as c:
        activated = c.post(f"/models/{tiny_model.version}/activate", headers=admin)
        assert activated.status_code == 200, activated.text
    marker = tmp_path / "unpickled"

    class Planted:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    (version_dir / "model.joblib").write_bytes(pickle.dumps(Planted()))
    meta = json.loads((version_dir / "metadata.json").read_text())
    meta["artifact_sha256"] = sha256_file(version_dir / "model.joblib")
    (version_dir / "metadata.json").write_text(json.dumps(meta))
    with TestClient(create_app(settings)) as c:
        ready = c.get("/ready")
    assert not marker.exists()
    assert ready.status_code == 503


# -- the OpenAPI schema under schemathesis -------------------------------------------------------

CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
]
# Not `negative_data_rejection`: pydantic rightly accepts what that check calls invalid (a Unix
# time for a datetime, the last of a repeated query parameter). The cases item 2 names (wrong
# types, unknown fields...) are tested one by one above.
# Collected from the schema itself, so a new route is fuzzed without editing this file.
SCHEMA = create_app(Settings()).openapi()
OPERATIONS = [(m.upper(), p) for p, methods in SCHEMA["paths"].items() for m in methods]


def _takes_input(method: str, path: str) -> bool:
    operation = SCHEMA["paths"][path][method.lower()]
    return bool(operation.get("parameters")) or "requestBody" in operation


# Invalid input exists only for operations that take some; a reviewer key opens the review
# routes (admin routes answer 403 to it, so nothing retrains or swaps models mid-run).
FUZZ_CASES = [
    (method, path, mode)
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _takes_input(method, path)
]


@pytest.fixture(scope="module")
def api_schema(
    tiny_model: ModelArtifact, tmp_path_factory: pytest.TempPathFactory
) -> tuple[schemathesis.BaseSchema, dict[str, str]]:
    db = tmp_path_factory.mktemp("schemathesis") / "tandai.db"
    settings = Settings(
        database_url=f"sqlite:///{db}", model_dir=tiny_model.path.parent, data_dir=DATA_DIR
    ).model_copy(update={"rate_limit_per_minute": 0})
    headers = bearer(create_key(settings.database_url, "reviewer"))
    config = schemathesis.Config.from_dict(
        {"generation": {"max-examples": 40, "with-security-parameters": False}}
    )
    app = create_app(settings)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config), headers


@pytest.mark.parametrize(
    ("method", "path", "mode"), FUZZ_CASES, ids=[f"{m} {p} {g.value}" for m, p, g in FUZZ_CASES]
)
def test_operation_conforms_to_schema(
    api_schema: tuple[schemathesis.BaseSchema, dict[str, str]],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    """No 500, no undocumented status code, every response body and header as documented."""
    schema, headers = api_schema
    operation = schema[path][method]

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS, headers=dict(headers))

    try:
        run()
    except Unsatisfiable:
        pytest.skip(f"no input to {method} {path} can break its schema (plain string parameters)")


def test_schema_documents_the_limits() -> None:
    assert {(m, p) for m, p in OPERATIONS} >= {("POST", "/classify"), ("GET", "/metrics")}
    documented = SCHEMA["paths"]["/classify"]["post"]["responses"]
    assert {"200", "400", "413", "422", "429", "503"} <= set(documented)
    assert "Retry-After" in documented["429"]["headers"]


def test_a_database_that_fails_is_a_503_with_retry_after_not_a_500(
    tiny_model: ModelArtifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from api import service

    settings = _sqlite_settings(tiny_model, tmp_path, batch_requires_key=False)
    with TestClient(create_app(settings)) as c:
        stored = c.post("/classify", json={"text": "sampah menumpuk"}).json()["id"]

        def disk_full(*args: object, **kwargs: object) -> None:
            raise OperationalError(
                "INSERT INTO posts ...", {}, Exception("database or disk is full")
            )

        monkeypatch.setattr(service, "_classify_and_store", disk_full)
        monkeypatch.setattr(service.storage, "get_post", disk_full)
        for response in (
            c.post("/classify", json={"text": "jalan berlubang"}),
            c.post("/classify/batch", json={"posts": [{"text": "a"}, {"text": "b"}]}),
            c.get(f"/posts/{stored}"),
        ):
            _assert_rejected(response, 503, "database is unavailable")
            assert response.headers["retry-after"] == "5"
        monkeypatch.undo()
        assert c.post("/classify", json={"text": "jalan berlubang"}).status_code == 200
    assert count_stored_posts(settings.database_url) == 2
