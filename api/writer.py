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

Every `TRIM_EVERY_POSTS` posts the writer hands the C heap's free pages back to the system
(`api.deps.return_free_heap`, ~1 ms): classifying and storing churns through small objects and
arrays, and without it the allocator keeps pages whose objects are gone (~6 MB of resident
memory after a few thousand posts). At the same pace it drops the repeat-search vectors the
database keeps for posts older than the repeat window (`service.drop_old_repeat_vectors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from api import service, storage
from api.deps import return_free_heap
from api.schemas import ClassificationOut
from api.settings import Settings
from model.triage import Triage

log = logging.getLogger("tandai")

TRIM_EVERY_POSTS = 2_000


@dataclass
class _Job:
    """One request's posts and where its answer goes: an asyncio future of the event loop the
    request waits on (`store`), or a thread-safe future (`submit`)."""

    triage: Triage
    posts: Sequence[storage.NewPost]
    received_at: datetime
    future: Future[list[ClassificationOut]] | None = None
    waiter: asyncio.Future[list[ClassificationOut]] | None = None
    _answered: bool = False  # the waiter's answer is on its way to the event loop

    def cancelled(self) -> bool:
        """The request went away before its posts were stored: they are not stored."""
        if self.future is not None:
            return not self.future.set_running_or_notify_cancel()
        return self.waiter is not None and self.waiter.cancelled()

    @property
    def answered(self) -> bool:
        return self.future.done() if self.future is not None else self._answered


# A group's answers to requests waiting on event loops, by loop: (waiter, result or error).
_Answers = dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], object]]]


def _settle(answers: list[tuple[asyncio.Future[Any], object]]) -> None:
    """On the event loop: hand every waiting request of a group its result or error."""
    for waiter, outcome in answers:
        if waiter.done():  # the client went away meanwhile; its posts are stored all the same
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


class GroupWriter:
    """Classifies and stores posts for many requests at a time, in one thread."""

    def __init__(
        self,
        db: storage.Database,
        settings: Settings,
        max_group_posts: int,
        trim_every_posts: int = TRIM_EVERY_POSTS,
    ) -> None:
        self.db = db
        self.settings = settings
        self.max_group_posts = max(1, max_group_posts)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tandai-writer", daemon=True)
        self.groups = 0  # transactions committed (for tests and benchmarks)
        self.trim_every_posts = trim_every_posts
        self._posts_since_trim = 0

    def start(self) -> None:
        self._thread.start()

    def submit(
        self, triage: Triage, posts: Sequence[storage.NewPost], received_at: datetime
    ) -> Future[list[ClassificationOut]]:
        """From any thread: a future that holds the stored posts' answers once committed."""
        job = _Job(triage, posts, received_at, future=Future())
        self._put(job)
        assert job.future is not None
        return job.future

    async def store(
        self, triage: Triage, posts: Sequence[storage.NewPost], received_at: datetime
    ) -> list[ClassificationOut]:
        """Classify and store `posts`; returns once they are committed.

        The answers of a whole group reach the event loop in one call, not one wake-up per
        request through a thread-safe future."""
        waiter: asyncio.Future[list[ClassificationOut]] = asyncio.get_running_loop().create_future()
        self._put(_Job(triage, posts, received_at, waiter=waiter))
        return await waiter

    def _put(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                raise service.RequestRejected(503, "the server is shutting down; retry")
            self._queue.put(job)

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
            answers: _Answers = {}
            # one model per transaction: a swap between two requests splits the group
            for _triage, jobs in groupby(group, key=lambda j: id(j.triage)):
                running = [j for j in jobs if not j.cancelled()]
                try:
                    self._process(running, answers)
                except Exception as exc:  # a bug here must not leave requests waiting forever
                    log.exception("the writer failed on a group; its requests get an error")
                    for job in running:
                        if not job.answered:
                            self._answer(job, exc, answers)
            for loop, settled in answers.items():
                # a closed event loop raises RuntimeError: no one waits there any more
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, settled)
            self._posts_since_trim += size
            if self._posts_since_trim >= self.trim_every_posts:
                self._posts_since_trim = 0
                return_free_heap()  # after the answers are on their way: no one waits on it
                self._drop_old_vectors()

    def _drop_old_vectors(self) -> None:
        try:
            service.drop_old_repeat_vectors(self.db, self.settings, datetime.now(UTC))
        except Exception:  # the next round tries again; storing posts goes on meanwhile
            log.exception("dropping old repeat vectors failed")

    def _process(
        self,
        jobs: list[_Job],
        answers: _Answers,
    ) -> None:
        if not jobs:
            return
        posts = [p for job in jobs for p in job.posts]
        received = [job.received_at for job in jobs for _ in job.posts]
        try:
            results = service.store_posts(jobs[0].triage, posts, self.db, self.settings, received)
        except Exception as exc:
            if len(jobs) == 1:
                self._answer(jobs[0], exc, answers)
                return
            log.info("a group of %d requests failed as a whole; storing them one by one", len(jobs))
            for job in jobs:
                self._process([job], answers)
            return
        self.groups += 1
        start = 0
        for job in jobs:
            self._answer(job, results[start : start + len(job.posts)], answers)
            start += len(job.posts)

    @staticmethod
    def _answer(
        job: _Job,
        outcome: list[ClassificationOut] | Exception,
        answers: _Answers,
    ) -> None:
        """A thread-safe future is answered now; an event loop's, with its group's others."""
        if job.future is not None:
            if isinstance(outcome, Exception):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)
            return
        assert job.waiter is not None
        job._answered = True
        answers.setdefault(job.waiter.get_loop(), []).append((job.waiter, outcome))
