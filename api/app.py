"""The FastAPI application factory. The model and database are opened in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from api import metrics as service_metrics
from api import middleware, service
from api.deps import AppState
from api.routes import (
    classify,
    health,
    models,
    pages,
    posts,
    reference,
    report_pages,
    responses,
    reviews,
)
from api.routes import metrics as metrics_route
from api.service import RequestRejected, tag_policy
from api.settings import Settings
from api.storage import Database
from api.writer import GroupWriter
from model.routing import Directory

__all__ = ["create_app", "tag_policy"]

log = logging.getLogger("tandai")
DATABASE_RETRY_AFTER_SECONDS = 5
STATIC_DIR = Path(__file__).resolve().parent / "static"


async def watch_active_model(state: AppState) -> None:
    """Every `model_poll_seconds`, swap in the version the database says is active."""
    while True:
        await asyncio.sleep(state.settings.model_poll_seconds)
        try:
            await asyncio.to_thread(service.refresh_model, state)
        except Exception:
            log.exception("checking the active model failed; will try again")


async def announce_overdue_posts(state: AppState) -> None:
    """Every `overdue_check_seconds`, POST newly overdue posts to the webhook (each post once,
    whichever worker gets there first)."""
    while True:
        try:
            await asyncio.to_thread(
                service.notify_overdue, state.db, state.directory, state.settings
            )
        except Exception:
            log.exception("announcing overdue posts failed; will try again")
        await asyncio.sleep(state.settings.overdue_check_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        db.migrate()
        directory = Directory.from_dir(settings.data_dir)
        state = AppState(settings=settings, db=db, directory=directory)
        state.on_model_change.append(service_metrics.set_active_model)
        service.load_initial_model(state)
        state.writer = GroupWriter(db, settings, settings.group_commit_posts)
        state.writer.start()
        app.state.tandai = state
        tasks = [asyncio.create_task(watch_active_model(state))]
        if settings.overdue_webhook_url:
            tasks.append(asyncio.create_task(announce_overdue_posts(state)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # every request already handed to the writer is stored before the worker exits
            await asyncio.to_thread(state.writer.close)
            db.dispose()

    app = FastAPI(
        title="tandai",
        summary="Reads citizens' complaint posts and says which officials must answer them.",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestRejected)
    async def _rejected(_request: Request, exc: RequestRejected) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers or None
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        # the server is down, refuses the connection, or a disk is full: the transaction was
        # rolled back, and a client sends the request again (a post with an external_id or an
        # Idempotency-Key is stored once however often it is sent)
        log.error(
            "the database failed: %s",
            type(exc.orig).__name__ if exc.orig is not None else "OperationalError",
            exc_info=exc,
        )
        return JSONResponse(
            {"detail": "the database is unavailable; retry later"},
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    for module in (
        health,
        classify,
        posts,
        reviews,
        responses,
        models,
        reference,
        pages,
        report_pages,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(metrics_route.router)
    middleware.install(app, settings)
    if settings.cors_origins:
        # added last, so outermost: 413 and 429 answers carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        )
    return app
