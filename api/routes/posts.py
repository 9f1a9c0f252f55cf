"""Reading stored posts."""

from __future__ import annotations

from fastapi import APIRouter

from api import service
from api.deps import StateDep
from api.schemas import ErrorOut, PostOut

router = APIRouter(tags=["posts"])


@router.get("/posts/{post_id}", response_model=PostOut, responses={404: {"model": ErrorOut}})
def get_post(post_id: str, state: StateDep) -> PostOut:
    """A stored post with the prediction made for it."""
    return service.get_post(state.db, post_id)
