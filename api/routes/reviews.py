"""The review loop: the queue of posts awaiting a person, reviews, the list of posts, and the
reviewed posts as training rows. Every route needs a reviewer or admin key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api import service
from api.auth import ReviewerDep
from api.deps import StateDep
from api.schemas import ErrorOut, KeyOwnerOut, PostListOut, QueueOut, ReviewIn, ReviewOut

router = APIRouter(tags=["review"])
_auth_errors: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "no API key, or not a valid one"},
    403: {"model": ErrorOut, "description": "the key's role may not do this"},
}
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
Since = Annotated[datetime | None, Query(description="received at or after (ISO-8601)")]
Until = Annotated[datetime | None, Query(description="received before (ISO-8601)")]


@router.get("/reviews/me", response_model=KeyOwnerOut, responses=_auth_errors)
def get_reviewer(reviewer: ReviewerDep) -> KeyOwnerOut:
    """The name and role of the key sent (the review page shows who is signed in)."""
    return KeyOwnerOut(key_id=reviewer.key_id, name=reviewer.name, role=reviewer.role)


@router.get("/reviews/queue", response_model=QueueOut, responses=_auth_errors)
def list_review_queue(
    state: StateDep,
    _reviewer: ReviewerDep,
    limit: Limit = 20,
    offset: Offset = 0,
    topic: str | None = None,
    kecamatan: str | None = None,
) -> QueueOut:
    """Posts no one has reviewed, most useful first: those flagged `needs_review`, then the
    smallest top-2 margin (never above the confidence), then the lowest confidence. `kecamatan`
    and `topic` are matched whatever their case (a label only stored posts carry, from a model
    since replaced, as written); a name not in GET /areas or a label not in GET /topics, the
    active model's or a stored post's is a 422."""
    return service.review_queue(
        state.db,
        limit=limit,
        offset=offset,
        topic=service.topic_filter(state.db, state.directory, state.triage, topic),
        kecamatan=service.kecamatan_filter(state.directory, kecamatan),
    )


@router.post(
    "/posts/{post_id}/review",
    response_model=ReviewOut,
    status_code=201,
    responses={**_auth_errors, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def review_post(post_id: str, body: ReviewIn, state: StateDep, reviewer: ReviewerDep) -> ReviewOut:
    """Accept, correct or reject one post's prediction; the reviewer is the API key's name."""
    return service.review_post(state.db, state.directory, state.settings, post_id, body, reviewer)


@router.get("/posts", response_model=PostListOut, responses=_auth_errors)
def list_posts(
    state: StateDep,
    _reviewer: ReviewerDep,
    reviewed: bool | None = None,
    topic: str | None = None,
    kecamatan: str | None = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PostListOut:
    """Stored posts, newest first; `topic` and `kecamatan` match the latest review's labels
    when a post was reviewed, else the prediction's. `kecamatan` and `topic` are matched whatever
    their case (a label only stored posts carry, from a model since replaced, as written); a
    name not in GET /areas or a label not in GET /topics, the active model's or a stored
    post's is a 422."""
    return service.list_posts(
        state.db,
        limit=limit,
        offset=offset,
        reviewed=reviewed,
        topic=service.topic_filter(state.db, state.directory, state.triage, topic),
        kecamatan=service.kecamatan_filter(state.directory, kecamatan),
        since=since,
        until=until,
    )


@router.get(
    "/labels/export.csv",
    response_class=StreamingResponse,
    responses={**_auth_errors, 200: {"content": {"text/csv": {}}}},
)
def export_labels(state: StateDep, _reviewer: ReviewerDep) -> StreamingResponse:
    """Reviewed posts as training rows (text, topic, kecamatan, kelurahan, source), safe to
    open in a spreadsheet; rejected posts are left out."""
    return StreamingResponse(
        service.export_labels(state.db),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="labels.csv"'},
    )
