"""Request-scoped access to what the lifespan opened: settings, database, directory, model."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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
        if RELEASE_MAPPED_FILE_PAGES:
            release_mapped_file_pages()


# Set by the server process (api/server.py), not by tests or tools that create the app.
RELEASE_MAPPED_FILE_PAGES = False
# madvise(2) advice: reclaim these pages (Linux 5.4 on).
_MADV_PAGEOUT = 21


def return_free_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc only; elsewhere nothing).

    Loading a model unpickles the pipeline and derives the fast path from it; the allocator
    keeps the pages those temporaries (and a replaced model) used, about 5 MB of a server's
    resident memory, unless asked to return them.
    """
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


def release_mapped_file_pages() -> int:
    """Ask the kernel to take back this process's pages of read-only file mappings (shared
    libraries, mostly); returns how many mappings it accepted the advice for (0 where
    /proc/self/maps or MADV_PAGEOUT is missing).

    Importing scikit-learn maps all of SciPy's compiled modules, and the kernel maps pages of
    a library around each one touched, in pieces whose size depends on its page cache (the
    same server measured 11 MB more of them from a fresh install than from an older one). A
    server that has loaded its model touches a small part of them again: those come back on
    their next use (a page fault each, once), and the rest stays out of its resident memory.
    Anonymous memory (the heap, the model) is not touched.
    """
    libc = _libc()
    maps = Path("/proc/self/maps")
    madvise = getattr(libc, "madvise", None)
    if madvise is None or not maps.is_file():
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    advised = 0
    for line in maps.read_text().splitlines():
        fields = line.split(maxsplit=5)
        # address range, permissions, offset, device, inode, path: read-only mappings of files
        if len(fields) < 6 or not fields[5].startswith("/") or "w" in fields[1]:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if madvise(start, end - start, _MADV_PAGEOUT) == 0:
            advised += 1
    return advised


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
