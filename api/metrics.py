"""Prometheus metrics of the HTTP service, correct with one or several uvicorn workers.

With several workers each one is its own process, so counts kept in memory would each show a
fraction. prometheus_client's multiprocess mode keeps every process's values in files under
`PROMETHEUS_MULTIPROC_DIR` and adds them up when `/metrics` is scraped, whichever worker answers.
The variable must be set, and the directory fresh, before the workers start (prometheus_client
decides its mode when it is first imported): `multiprocess_directory()` does both for
`tandai serve --workers N`. Without the variable, metrics live in this process's memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# The metrics of this process; in multiprocess mode their values are written to files.
REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "tandai_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "tandai_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by method and route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
PREDICTIONS = Counter(
    "tandai_predictions",
    "Posts classified by the service, by predicted topic",
    ["topic"],
    registry=REGISTRY,
)
# 1 for the model version a worker serves. "max" over processes: a version shows 1 while any
# worker serves it, and a worker that swaps models sets its old version back to 0.
ACTIVE_MODEL = Gauge(
    "tandai_model_info",
    "Model version being served (1) or no longer served (0)",
    ["model_version"],
    multiprocess_mode="max",
    registry=REGISTRY,
)
# Counted from the database at each scrape by the worker that answers it.
REVIEW_QUEUE = Gauge(
    "tandai_review_queue_length",
    "Posts no one has reviewed yet",
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
_active_version: list[str | None] = [None]


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def record_predictions(topics: Iterable[str]) -> None:
    """Count classified posts by topic; called once per post the service classifies."""
    for topic in topics:
        PREDICTIONS.labels(topic).inc()


def set_active_model(version: str | None) -> None:
    """Report the model version this process serves (None: no model loaded)."""
    previous = _active_version[0]
    if previous is not None and previous != version:
        ACTIVE_MODEL.labels(previous).set(0)
    if version is not None:
        ACTIVE_MODEL.labels(version).set(1)
    _active_version[0] = version


def set_review_queue(length: int) -> None:
    REVIEW_QUEUE.set(length)


def render() -> bytes:
    """The Prometheus text exposition of every worker's metrics."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


@contextmanager
def multiprocess_directory(workers: int) -> Iterator[Path | None]:
    """Before starting `workers` (> 1) worker processes: a fresh, empty metrics directory.

    Sets PROMETHEUS_MULTIPROC_DIR for the workers to inherit and removes the directory
    afterwards. A directory the operator set already is emptied of old files and kept.
    With one worker nothing changes (metrics stay in memory).
    """
    if workers <= 1 and multiprocess_dir() is None:
        yield None
        return
    given = multiprocess_dir()
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        for old in given.glob("*.db"):
            old.unlink()
        yield given
        return
    path = Path(tempfile.mkdtemp(prefix="tandai-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)
