"""GET /metrics: request, latency, prediction and model metrics, exact with two real workers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api import metrics
from api.app import create_app
from api.settings import Settings
from model.artifact import ModelArtifact
from tests.api.conftest import bearer, create_key
from tests.conftest import DATA_DIR, free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus exposition, keyed by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics_client(tiny_model: ModelArtifact, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'tandai.db'}",
        model_dir=tiny_model.path.parent,
        data_dir=DATA_DIR,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_metrics_is_prometheus_text(metrics_client: TestClient) -> None:
    response = metrics_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(response.text)}
    assert {
        "tandai_http_requests",
        "tandai_http_request_duration_seconds",
        "tandai_predictions",
        "tandai_model_info",
        "tandai_review_queue_length",
    } <= names


def test_requests_are_counted_by_route_template_and_status(metrics_client: TestClient) -> None:
    before = metrics_client.get("/metrics").text
    for _ in range(3):
        assert metrics_client.get("/topics").status_code == 200
    assert metrics_client.get("/posts/0123456789abcdef0123456789abcdef").status_code == 404
    assert metrics_client.get("/posts/another-id").status_code == 404
    assert metrics_client.get("/no/such/page").status_code == 404
    after = metrics_client.get("/metrics").text

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "tandai_http_requests_total"
    assert delta(total, method="GET", route="/topics", status="200") == 3
    # ids never become labels: both unknown posts count under the template
    assert delta(total, method="GET", route="/posts/{post_id}", status="404") == 2
    assert delta(total, method="GET", route="unmatched", status="404") == 1
    count = "tandai_http_request_duration_seconds_count"
    assert delta(count, method="GET", route="/topics") == 3
    bucket = "tandai_http_request_duration_seconds_bucket"
    assert delta(bucket, method="GET", route="/topics", le="+Inf") == 3


def test_rejected_requests_are_counted_under_their_route(
    tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'tandai.db'}",
        model_dir=tiny_model.path.parent,
        data_dir=DATA_DIR,
    ).model_copy(update={"rate_limit_per_minute": 1, "max_body_bytes": 100})
    with TestClient(create_app(settings)) as c:
        before = c.get("/metrics").text
        c.post("/classify", json={"text": "x" * 200})  # 413, spends the one token
        c.post("/classify", json={"text": "sampah"})  # 429
        after = c.get("/metrics").text
    for status in ("413", "429"):
        labels = {"method": "POST", "route": "/classify", "status": status}
        name = "tandai_http_requests_total"
        assert value(after, name, **labels) - value(before, name, **labels) == 1


def test_active_model_version_is_reported(
    metrics_client: TestClient, tiny_model: ModelArtifact
) -> None:
    text = metrics_client.get("/metrics").text
    assert value(text, "tandai_model_info", model_version=tiny_model.version) == 1


def test_a_swapped_model_version_goes_to_zero() -> None:
    metrics.set_active_model("v-old")
    metrics.set_active_model("v-new")
    text = metrics.render().decode()
    assert value(text, "tandai_model_info", model_version="v-old") == 0
    assert value(text, "tandai_model_info", model_version="v-new") == 1


def test_predictions_are_counted_by_topic() -> None:
    before = metrics.render().decode()
    metrics.record_predictions(["sampah", "jalan", "sampah"])
    after = metrics.render().decode()
    name = "tandai_predictions_total"
    assert value(after, name, topic="sampah") - value(before, name, topic="sampah") == 2
    assert value(after, name, topic="jalan") - value(before, name, topic="jalan") == 1


def test_classified_posts_are_counted_by_topic(metrics_client: TestClient) -> None:
    before = metrics_client.get("/metrics").text
    response = metrics_client.post("/classify", json={"text": "sampah menumpuk bau busuk"})
    assert response.status_code == 200
    after = metrics_client.get("/metrics").text
    name = "tandai_predictions_total"
    assert value(after, name, topic="sampah") - value(before, name, topic="sampah") == 1


def test_review_queue_length_is_counted_at_each_scrape(
    tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'tandai.db'}",
        model_dir=tiny_model.path.parent,
        data_dir=DATA_DIR,
    )
    reviewer = bearer(create_key(settings.database_url, "reviewer"))
    with TestClient(create_app(settings)) as c:
        assert value(c.get("/metrics").text, "tandai_review_queue_length") == 0
        ids = [
            c.post("/classify", json={"text": text}).json()["id"]
            for text in ("sampah menumpuk bau", "jalan berlubang besar")
        ]
        assert value(c.get("/metrics").text, "tandai_review_queue_length") == 2
        review = c.post(f"/posts/{ids[0]}/review", json={"decision": "accept"}, headers=reviewer)
        assert review.status_code == 201, review.text
        assert value(c.get("/metrics").text, "tandai_review_queue_length") == 1


def test_health_stays_cheap(metrics_client: TestClient) -> None:
    """/health touches neither the database nor the model, so it answers even without them."""
    state = metrics_client.app.state.tandai  # type: ignore[attr-defined]
    db, triage = state.db, state.triage
    state.db, state.triage = None, None
    try:
        assert metrics_client.get("/health").json() == {"status": "ok"}
        assert metrics_client.get("/ready").status_code == 503
    finally:
        state.db, state.triage = db, triage


# -- several workers -----------------------------------------------------------------------------


def test_multiprocess_directory_is_fresh_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    with metrics.multiprocess_directory(1) as single:
        assert single is None
        assert metrics.MULTIPROC_ENV not in os.environ
    with metrics.multiprocess_directory(2) as path:
        assert path is not None and path.is_dir() and not any(path.iterdir())
        assert os.environ[metrics.MULTIPROC_ENV] == str(path)
    assert not path.exists()
    assert metrics.MULTIPROC_ENV not in os.environ


def test_operator_directory_is_emptied_of_old_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("kept")
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    with metrics.multiprocess_directory(4) as path:
        assert path == tmp_path
        assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert tmp_path.is_dir()


def test_metrics_add_up_across_two_worker_processes(
    tiny_model: ModelArtifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whichever worker answers the scrape, it reports the requests both workers served."""
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with metrics.multiprocess_directory(2) as metrics_dir:
        assert metrics_dir is not None
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TANDAI_MODEL_DIR": str(tiny_model.path.parent),
            "TANDAI_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "TANDAI_DATA_DIR": str(DATA_DIR),
            "TANDAI_RATE_LIMIT_PER_MINUTE": "0",
        }
        # uvicorn itself, not `tandai serve`: each of its workers first imports training.cli
        # (~4 s on a busy machine), longer than uvicorn's default 5 s health check allows.
        cmd = [
            *(sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", "2"),
            *("--timeout-worker-healthcheck", "60"),
        ]
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_ready(base, proc)
            sent = 0
            pids: set[str] = set()
            # New connections land on either worker; go on until both have served some.
            with ThreadPoolExecutor(8) as pool:
                while len(pids) < 2 and sent < 2000:
                    codes = pool.map(lambda _: httpx.get(f"{base}/topics").status_code, range(40))
                    assert list(codes) == [200] * 40
                    sent += 40
                    pids = {
                        m.group(1)
                        for p in metrics_dir.glob("counter_*.db")
                        if (m := re.fullmatch(r"counter_(\d+)\.db", p.name))
                    }
            assert len(pids) == 2, "one worker served every request"
            with ThreadPoolExecutor(8) as pool:
                classified = pool.map(
                    lambda _: httpx.post(f"{base}/classify", json={"text": "sampah bau"}).json(),
                    range(20),
                )
                topics = [c["topic"]["label"] for c in classified]
            scrapes = [httpx.get(f"{base}/metrics").text for _ in range(6)]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    for text in scrapes:
        labels = {"method": "GET", "route": "/topics", "status": "200"}
        assert value(text, "tandai_http_requests_total", **labels) == sent
        count = "tandai_http_request_duration_seconds_count"
        assert value(text, count, method="GET", route="/topics") == sent
        assert value(text, "tandai_model_info", model_version=tiny_model.version) == 1
        assert value(text, "tandai_review_queue_length") == 20
        for topic in set(topics):
            predicted = value(text, "tandai_predictions_total", topic=topic)
            assert predicted == topics.count(topic)
    assert not metrics_dir.exists()
