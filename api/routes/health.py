"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import StateDep
from api.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    """The process is alive (does no work)."""
    return HealthOut(status="ok")


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
def ready(state: StateDep) -> JSONResponse:
    """200 once a model is loaded, 503 before."""
    if state.triage is None:
        body = ReadyOut(status=state.model_error or "no model loaded", model_version=None)
        return JSONResponse(body.model_dump(), status_code=503)
    body = ReadyOut(status="ready", model_version=state.triage.model_version)
    return JSONResponse(body.model_dump())
