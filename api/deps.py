"""Request-scoped access to what the lifespan opened: settings, database, directory, model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from api.settings import Settings
from api.storage import Database
from model.routing import Directory
from model.triage import Triage


@dataclass
class AppState:
    settings: Settings
    db: Database
    directory: Directory
    triage: Triage | None = None
    model_error: str | None = field(default=None)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.tandai
    return state


def get_triage(state: Annotated[AppState, Depends(get_state)]) -> Triage:
    from api.service import RequestRejected

    if state.triage is None:
        reason = state.model_error or "no model is loaded"
        raise RequestRejected(503, f"{reason}; train one with `tandai train`")
    return state.triage


StateDep = Annotated[AppState, Depends(get_state)]
TriageDep = Annotated[Triage, Depends(get_triage)]
