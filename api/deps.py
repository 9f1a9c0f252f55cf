"""Request-scoped access to what the lifespan opened: settings, database, directory, model."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from api.settings import Settings
from api.storage import Database
from model.routing import Directory
from model.triage import Triage

if TYPE_CHECKING:
    from api.writer import GroupWriter


@dataclass
class AppState:
    """What one worker holds. `triage` is replaced whole, never changed in place: a request
    takes it once (`get_triage`) and uses that object to the end, so a model swap never mixes
    two models in one answer."""

    settings: Settings
    db: Database
    directory: Directory
    triage: Triage | None = None
    model_error: str | None = field(default=None)
    # (version, sha256) of the active version that failed to load, so it is logged once.
    failed_version: tuple[str, str] | None = None
    # Called with the new version after every swap (metrics, logs).
    on_model_change: list[Callable[[str], None]] = field(default_factory=list)
    # Classifies and stores what concurrent /classify requests send, one transaction at a time.
    writer: GroupWriter | None = None

    def set_triage(self, triage: Triage) -> None:
        self.triage = triage
        self.model_error = None
        self.failed_version = None
        for listener in self.on_model_change:
            listener(triage.model_version)
        return_free_heap()


def return_free_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc only; elsewhere nothing).

    Loading a model unpickles the pipeline and derives the fast path from it; the allocator
    keeps the pages those temporaries (and a replaced model) used, about 5 MB of a server's
    resident memory, unless asked to return them.
    """
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


# Both are async: a plain `def` dependency costs a trip through the thread pool per request.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.tandai
    return state


async def get_triage(state: Annotated[AppState, Depends(get_state)]) -> Triage:
    from api.service import RequestRejected

    if state.triage is None:
        reason = state.model_error or "no model is loaded"
        raise RequestRejected(503, f"{reason}; train one with `tandai train`")
    return state.triage


StateDep = Annotated[AppState, Depends(get_state)]
TriageDep = Annotated[Triage, Depends(get_triage)]
