"""The response report page: server-rendered table and bar chart, signed in with a key."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api import reports, service
from api.auth import ReviewerDep
from api.deps import StateDep
from api.routes.pages import templates
from api.schemas import ReportGroupBy

router = APIRouter(tags=["pages"], include_in_schema=False)

GROUP_NAMES = {
    "office": "Perangkat daerah",
    "official": "Pejabat / akun",
    "kecamatan": "Kecamatan",
    "topic": "Topik",
}


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request) -> HTMLResponse:
    """Sign in with an API key, then read the response report."""
    return templates.TemplateResponse(
        request, "reports.html", {"fragment": False, "group_names": GROUP_NAMES}
    )


@router.get("/reports/response-times.html", response_class=HTMLResponse)
def response_report_fragment(
    request: Request,
    state: StateDep,
    _reviewer: ReviewerDep,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    group_by: ReportGroupBy = "office",
) -> HTMLResponse:
    """The report as an HTML fragment (table and chart) the page puts in place."""
    report = service.response_report(
        state.db, state.directory, state.settings, since=since, until=until
    )
    rows = report.rows(group_by)
    directory = state.directory
    official_names = {o.official_id: o.name for o in directory.officials}
    names: dict[str, str] = {}
    if group_by in ("office", "official"):
        names = dict(official_names)
    if group_by == "office":
        names.update({code: office.name for code, office in directory.offices.items()})
    elif group_by == "topic":
        names = {t.code: t.name for t in directory.topics}
    by_office = rows if group_by == "office" else report.rows("office")
    hours = report.window.total_seconds() / 3600
    chart = None
    if by_office:
        with service.CHART_LOCK:
            # office codes stay short (DLH); a camat or lurah, tagged as itself, by name
            svg = reports.bar_chart_svg(
                by_office,
                report.window,
                f"Dijawab dalam {hours:g} jam, per perangkat daerah",
                official_names,
            )
        chart = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode()
    return templates.TemplateResponse(
        request,
        "reports.html",
        {
            "fragment": True,
            "report": report,
            "rows": rows,
            "group_by": group_by,
            "group_names": GROUP_NAMES,
            "names": names,
            "hours": hours,
            "chart": chart,
            "offices_shown": min(len(by_office), 25),
            "offices": len(by_office),
        },
    )
