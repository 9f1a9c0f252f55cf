"""tandai's own app with classification and storage taken out: what its HTTP layer costs.

Every route, dependency, middleware, request validation and response model is tandai's; only
its group writer (`api/writer.py`) answers differently: the first post is classified and stored
as usual, and every later post gets that first answer back without being classified or stored.
`python -m bench.http_throughput --layers` serves it with the same uvicorn settings as the
bare endpoint and tandai, so the three rows split the gap between the framework's ceiling and
`POST /classify` into the HTTP layer's share and classifying and storing. A measuring tool
only: it stores nothing after the first post.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from api import storage
from api.app import create_app as create_tandai_app
from api.schemas import ClassificationOut
from api.settings import Settings
from api.writer import GroupWriter
from model.triage import Triage


class _FirstAnswerOnly:
    """Stands in for `GroupWriter.store`: the writer's answer to the first post, then that."""

    def __init__(self, writer: GroupWriter) -> None:
        self.store = writer.store
        self.answer: list[ClassificationOut] = []

    async def __call__(
        self, triage: Triage, posts: Sequence[storage.NewPost], received_at: datetime
    ) -> list[ClassificationOut]:
        if not self.answer:
            self.answer.extend(await self.store(triage, posts[:1], received_at))
        return self.answer * len(posts)


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_tandai_app(settings)
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with started(app) as state:
            writer = app.state.tandai.writer
            writer.store = _FirstAnswerOnly(writer)  # this app's writer only
            yield state

    app.router.lifespan_context = lifespan
    return app
