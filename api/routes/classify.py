"""POST /classify and /classify/batch."""

from __future__ import annotations

from fastapi import APIRouter

from api import service
from api.auth import BatchKeyDep, ClassifyKeyDep
from api.deps import StateDep, TriageDep
from api.schemas import BatchIn, BatchOut, ClassificationOut, ErrorOut, PostIn

router = APIRouter(tags=["classify"])
_errors: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "a key is required by the settings and was not sent"},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


@router.post(
    "/classify",
    response_model=ClassificationOut,
    responses=_errors,
    # a key is optional unless TANDAI_CLASSIFY_REQUIRES_KEY is set
    openapi_extra={"security": [{}, {"HTTPBearer": []}]},
)
def classify_post(
    post: PostIn, _key: ClassifyKeyDep, state: StateDep, triage: TriageDep
) -> ClassificationOut:
    """Classify one post, store it with its prediction, and say whom to tag."""
    return service.classify_posts(triage, [post], state.db, state.settings)[0]


@router.post("/classify/batch", response_model=BatchOut, responses=_errors)
def classify_batch(
    batch: BatchIn, _key: BatchKeyDep, state: StateDep, triage: TriageDep
) -> BatchOut:
    """Classify up to `max_batch_size` posts; results come back in input order."""
    return BatchOut(results=service.classify_posts(triage, batch.posts, state.db, state.settings))
