"""Answers to posts and the response reports: who answered, who is late, how fast each office
answers. Every route needs a reviewer or admin key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api import reports, service
from api.auth import ReviewerDep
from api.deps import StateDep
from api.schemas import (
    ErrorOut,
    OverdueOut,
    ReportGroupBy,
    ResponseIn,
    ResponseOut,
    ResponseReportOut,
)

router = APIRouter(tags=["responses"])
_auth_errors: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "no API key, or not a valid one"},
    403: {"model": ErrorOut, "description": "the key's role may not do this"},
}
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
At = Annotated[
    datetime | None,
    Query(
        description="the moment to report on (ISO-8601); answers after it do not count; default now"
    ),
]
Since = Annotated[datetime | None, Query(description="posts received at or after (ISO-8601)")]
Until = Annotated[datetime | None, Query(description="posts received before (ISO-8601)")]


@router.post(
    "/posts/{post_id}/responses",
    response_model=ResponseOut,
    status_code=201,
    responses={**_auth_errors, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def add_response(
    post_id: str, body: ResponseIn, state: StateDep, reviewer: ReviewerDep
) -> ResponseOut:
    """Record that an official (or an office) answered the post: when, where, a link, and
    optionally the case status from then on (diterima, diproses, selesai, ditolak)."""
    return service.add_response(state.db, state.directory, post_id, body, reviewer)


@router.get("/reports/overdue", response_model=OverdueOut, responses=_auth_errors)
def list_overdue(
    state: StateDep,
    _reviewer: ReviewerDep,
    at: At = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> OverdueOut:
    """Posts past `respond_by` whose tagged officials have not all answered, oldest deadline
    first, each with the officials still owing an answer. Repeats owe nothing of their own."""
    return service.list_overdue(state.db, state.directory, limit=limit, offset=offset, at=at)


@router.get(
    "/reports/response-times",
    response_model=ResponseReportOut,
    responses={**_auth_errors, 200: {"content": {"text/csv": {}}}, 422: {"model": ErrorOut}},
)
def get_response_report(
    state: StateDep,
    _reviewer: ReviewerDep,
    since: Since = None,
    until: Until = None,
    group_by: ReportGroupBy = "office",
    format: Literal["json", "csv"] = "json",
    at: At = None,
) -> ResponseReportOut | Response:
    """Per office, official, kecamatan or topic: answers owed (one per post and tagged
    official), answered within TANDAI_ANSWER_WINDOW_HOURS, median and 90th-percentile hours
    to the first answer, overdue now, and repeat posts; as JSON or CSV."""
    report = service.response_report(
        state.db, state.directory, state.settings, since=since, until=until, at=at
    )
    if format == "csv":
        return Response(
            reports.to_csv(report.rows(group_by)),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="response-times-{group_by}.csv"'
            },
        )
    return service.response_report_out(report, group_by)
