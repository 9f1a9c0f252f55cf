"""The FastAPI application factory. The model and database are opened in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api import metrics as service_metrics
from api import middleware
from api.deps import AppState
from api.routes import classify, health, posts, reference
from api.routes import metrics as metrics_route
from api.service import RequestRejected
from api.settings import Settings
from api.storage import Database
from model.artifact import ArtifactError, latest_version, load_artifact
from model.routing import Directory, TagPolicy
from model.triage import Triage

log = logging.getLogger("tandai")


def tag_policy(settings: Settings) -> TagPolicy:
    return TagPolicy(
        auto_tag_threshold=settings.auto_tag_threshold,
        review_threshold=settings.review_threshold,
        margin_threshold=settings.margin_threshold,
        area_threshold=settings.area_threshold,
        tag_lurah=settings.tag_lurah,
    )


def build_triage(settings: Settings, directory: Directory) -> Triage:
    """Load the newest model version under settings.model_dir (raises ArtifactError)."""
    path = latest_version(settings.resolved_model_dir())
    if path is None:
        raise ArtifactError(f"no model found in {settings.resolved_model_dir()}")
    return Triage(
        load_artifact(path),
        directory,
        tag_policy(settings),
        answer_window=timedelta(hours=settings.answer_window_hours),
        n_alternatives=settings.n_alternatives,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        db.create_schema()
        directory = Directory.from_dir(settings.data_dir)
        state = AppState(settings=settings, db=db, directory=directory)
        try:
            state.triage = build_triage(settings, directory)
            log.info("model %s loaded", state.triage.model_version)
            service_metrics.set_active_model(state.triage.model_version)
        except ArtifactError as exc:
            state.model_error = str(exc)
            log.warning("not ready: %s", exc)
        app.state.tandai = state
        try:
            yield
        finally:
            db.dispose()

    app = FastAPI(
        title="tandai",
        summary="Reads citizens' complaint posts and says which officials must answer them.",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestRejected)
    async def _rejected(_request: Request, exc: RequestRejected) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    for module in (health, classify, posts, reference):
        app.include_router(module.router)
    app.include_router(metrics_route.router)
    middleware.install(app, settings)
    return app
