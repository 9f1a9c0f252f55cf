"""POST /classify and /classify/batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from api import service
from api.auth import BatchKeyDep, ClassifyKeyDep, Principal
from api.deps import StateDep, TriageDep
from api.schemas import BatchIn, BatchOut, ClassificationOut, ErrorOut, PostIn

router = APIRouter(tags=["classify"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="retrying with the same key returns the first result instead of storing "
        "the post again (scoped to the API key that sent it)",
    ),
]


def _scoped(key: str | None, principal: Principal | None) -> str | None:
    if key is None:
        return None
    return f"{principal.key_id if principal else 'open'}:{key}"


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
async def classify_post(
    post: PostIn,
    key: ClassifyKeyDep,
    state: StateDep,
    triage: TriageDep,
    idempotency_key: IdempotencyKey = None,
) -> ClassificationOut:
    """Classify one post, store it with its prediction, and say whom to tag."""
    scoped = _scoped(idempotency_key, key)
    return (await service.classify_and_store(state, triage, [post], scoped))[0]


@router.post("/classify/batch", response_model=BatchOut, responses=_errors)
async def classify_batch(
    batch: BatchIn,
    key: BatchKeyDep,
    state: StateDep,
    triage: TriageDep,
    idempotency_key: IdempotencyKey = None,
) -> BatchOut:
    """Classify up to `max_batch_size` posts; results come back in input order."""
    scoped = _scoped(idempotency_key, key)
    return BatchOut(results=await service.classify_and_store(state, triage, batch.posts, scoped))
