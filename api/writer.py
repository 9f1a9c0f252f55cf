"""Group commit: one thread per worker classifies and stores what concurrent requests sent.

Every request to `POST /classify` used to open its own transaction from a thread of the pool;
under load those transactions queued on the database's write lock (SQLite has one writer, and
its busy handler waits by sleeping), so most of a request's time was spent waiting. Here the
requests hand their posts to one thread, which takes everything that arrived meanwhile and
classifies and stores it in one transaction: one commit for many requests, and the fast path
classifies them as one batch. Each request is answered only after that commit, so nothing is
acknowledged before it is stored.

A group that fails as a whole (a unique-key conflict with another worker, say) is done again
request by request, each with `service.store_posts`'s own retries, so one request's error is
never another's.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from api import service, storage
from api.schemas import ClassificationOut
from api.settings import Settings
from model.triage import Triage

log = logging.getLogger("tandai")


@dataclass
class _Job:
    triage: Triage
    posts: Sequence[storage.NewPost]
    received_at: datetime
    future: Future[list[ClassificationOut]] = field(default_factory=Future)


class GroupWriter:
    """Classifies and stores posts for many requests at a time, in one thread."""

    def __init__(self, db: storage.Database, settings: Settings, max_group_posts: int) -> None:
        self.db = db
        self.settings = settings
        self.max_group_posts = max(1, max_group_posts)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tandai-writer", daemon=True)
        self.groups = 0  # transactions committed (for tests and benchmarks)

    def start(self) -> None:
        self._thread.start()

    def submit(
        self, triage: Triage, posts: Sequence[storage.NewPost], received_at: datetime
    ) -> Future[list[ClassificationOut]]:
        job = _Job(triage, posts, received_at)
        with self._lock:
            if self._closed:
                raise service.RequestRejected(503, "the server is shutting down; retry")
            self._queue.put(job)
        return job.future

    async def store(
        self, triage: Triage, posts: Sequence[storage.NewPost], received_at: datetime
    ) -> list[ClassificationOut]:
        """Classify and store `posts`; returns once they are committed."""
        return await asyncio.wrap_future(self.submit(triage, posts, received_at))

    def close(self, timeout: float = 30.0) -> None:
        """Finish every job already submitted, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            size = len(first.posts)
            while size < self.max_group_posts:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                group.append(job)
                size += len(job.posts)
            # one model per transaction: a swap between two requests splits the group
            for _triage, jobs in groupby(group, key=lambda j: id(j.triage)):
                running = [j for j in jobs if j.future.set_running_or_notify_cancel()]
                try:
                    self._process(running)
                except Exception as exc:  # a bug here must not leave requests waiting forever
                    log.exception("the writer failed on a group; its requests get an error")
                    for job in running:
                        if not job.future.done():
                            job.future.set_exception(exc)

    def _process(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        posts = [p for job in jobs for p in job.posts]
        received = [job.received_at for job in jobs for _ in job.posts]
        try:
            results = service.store_posts(jobs[0].triage, posts, self.db, self.settings, received)
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
                return
            log.info("a group of %d requests failed as a whole; storing them one by one", len(jobs))
            for job in jobs:
                self._process([job])
            return
        self.groups += 1
        start = 0
        for job in jobs:
            job.future.set_result(results[start : start + len(job.posts)])
            start += len(job.posts)
