"""Model versions: list, activate (promotion or rollback by hand), retrain in the background."""

from __future__ import annotations

from fastapi import APIRouter

from api import service
from api.auth import AdminDep, ReviewerDep
from api.deps import StateDep
from api.schemas import ActivateIn, ErrorOut, ModelVersionOut, RetrainIn, RetrainJobOut

router = APIRouter(tags=["models"])
_auth_errors: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "no API key, or not a valid one"},
    403: {"model": ErrorOut, "description": "the key's role may not do this"},
}


@router.get("/models", response_model=list[ModelVersionOut], responses=_auth_errors)
def list_models(state: StateDep, _reviewer: ReviewerDep) -> list[ModelVersionOut]:
    """Every model version, newest first: which one is active and which this worker serves."""
    return service.list_models(state)


@router.post(
    "/models/retrain",
    response_model=RetrainJobOut,
    status_code=202,
    responses={**_auth_errors, 409: {"model": ErrorOut}},
)
def retrain_model(state: StateDep, admin: AdminDep, body: RetrainIn | None = None) -> RetrainJobOut:
    """Train a new version on the label files plus every reviewed post, in the background;
    it becomes active only if it does as well as the active one on the held-out posts."""
    return service.start_retrain(state, body or RetrainIn(), admin)


@router.get(
    "/models/retrain/{job_id}",
    response_model=RetrainJobOut,
    responses={**_auth_errors, 404: {"model": ErrorOut}},
)
def get_retrain_job(job_id: str, state: StateDep, _admin: AdminDep) -> RetrainJobOut:
    """Status of a retrain job and, when it is done, its report."""
    return service.get_retrain_job(state.db, job_id)


@router.post(
    "/models/{version}/activate",
    response_model=ModelVersionOut,
    responses={**_auth_errors, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def activate_model(
    version: str, state: StateDep, admin: AdminDep, body: ActivateIn | None = None
) -> ModelVersionOut:
    """Make a version the one every worker serves (rollback, or promotion by hand)."""
    reason = body.reason if body is not None else ""
    return service.activate_model(state, version, reason, admin)
