"""Crash safety against a real `tandai serve`: SIGKILL loses no acknowledged post and leaves a
sound database; SIGTERM lets the requests in flight finish. The full run (1,000 posts) is
`python bench/crash_test.py`; this is its short version."""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from model.artifact import ModelArtifact
from tests.conftest import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent


def _crash_test_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crash_test", ROOT / "bench" / "crash_test.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["crash_test"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


crash = _crash_test_module()


def test_acknowledged_posts_survive_sigkill(tiny_model: ModelArtifact) -> None:
    report = crash.run(
        posts=80,
        clients=4,
        kill_every=(0.2, 1.0),
        model_dir=tiny_model.path.parent,
        seed=3,
        time_limit=180,
        # paced: unpaced, 80 posts can all be answered before the first kill
        rate=40,
    )
    print(report.table())
    assert report.outcome.kills >= 1
    assert len(report.outcome.acknowledged) == 80
    assert report.missing == []
    assert report.integrity == "ok"
    assert report.stored_rows >= 80  # a post retried after a kill may be stored twice
    assert report.final_ready_seconds > 0


def test_sigterm_lets_requests_in_flight_finish(tiny_model: ModelArtifact, tmp_path: Path) -> None:
    db_path = tmp_path / "tandai.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TANDAI_DATABASE_URL": f"sqlite:///{db_path}",
        "TANDAI_MODEL_DIR": str(tiny_model.path.parent),
        "TANDAI_DATA_DIR": str(DATA_DIR),
        "TANDAI_BATCH_REQUIRES_KEY": "false",
    }
    server = crash.Server(crash.free_port(), env, tmp_path, tmp_path / "server.log")
    server.start()
    try:
        server.wait_ready()
        # ~190 long posts: seconds of work, just under the 1 MB body limit.
        words = ("sampah", "menumpuk", "di", "jalan", "dak", "diangkut", "banjir", "Sawah", "Lebar")
        text = " ".join(words[i % len(words)] for i in range(700))[:4900]
        batch = {"posts": [{"text": f"{text} {i}"} for i in range(190)]}
        answer: dict[str, Any] = {}

        def post_batch() -> None:
            try:
                answer["response"] = httpx.post(
                    f"{server.base}/classify/batch", json=batch, timeout=120
                )
            finally:
                answer["at"] = time.monotonic()

        caller = threading.Thread(target=post_batch)
        caller.start()
        time.sleep(0.2)
        assert "at" not in answer, "the batch finished before SIGTERM; make it bigger"
        sent_term = time.monotonic()
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.TransportError):  # no new connections once it is draining
            httpx.get(f"{server.base}/health", timeout=2)
        caller.join(timeout=120)
        exit_code = server.proc.wait(timeout=60)
    finally:
        server.kill()
    response = answer["response"]
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 190
    assert answer["at"] > sent_term  # it was answered after the SIGTERM, not before
    # uvicorn shuts down, then re-raises the SIGTERM it caught: the conventional exit status
    assert exit_code in (0, -signal.SIGTERM)
    log = (tmp_path / "server.log").read_text()
    assert "Shutting down" in log and "Finished server process" in log
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 190
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
