"""API keys and roles: keys are random tokens sent as `Authorization: Bearer <key>`; only their
SHA-256 is stored. Routes declare the roles they need with the dependencies at the bottom."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import storage
from api.deps import StateDep
from api.service import RequestRejected
from api.settings import Settings

KEY_PREFIX = "tdk_"
_bearer = HTTPBearer(auto_error=False, description="an API key made with `tandai keys create`")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key's id, name and role."""

    key_id: int
    name: str
    role: str


def new_key() -> str:
    """A fresh random key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def identify(db: storage.Database, key: str) -> Principal | None:
    """The unrevoked key's principal, or None."""
    with db.session() as session:
        row = storage.find_api_key(session, hash_key(key))
        return None if row is None else Principal(row.id, row.name, row.role)


def authenticate(
    db: storage.Database, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """401 (with a Bearer challenge) unless a valid, unrevoked key was sent."""
    if credentials is None or not credentials.credentials:
        raise RequestRejected(
            401,
            "an API key is required: send `Authorization: Bearer <key>` "
            "(keys are made with `tandai keys create`)",
            headers=_CHALLENGE,
        )
    principal = identify(db, credentials.credentials)
    if principal is None:
        raise RequestRejected(
            401, "the API key is not valid or has been revoked", headers=_CHALLENGE
        )
    return principal


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's principal, after 401 or 403 when it may not call the route."""

    async def dependency(state: StateDep, credentials: BearerDep) -> Principal:
        principal = await run_in_threadpool(authenticate, state.db, credentials)
        if principal.role not in roles:
            raise RequestRejected(
                403,
                f"the key {principal.name!r} has the role {principal.role!r}; this needs "
                f"{' or '.join(repr(r) for r in roles)}",
            )
        return principal

    return dependency


def require_key_if(
    flag: Callable[[Settings], bool],
) -> Callable[..., Awaitable[Principal | None]]:
    """A dependency: any valid key when the setting `flag` asks for one, else nothing."""

    async def dependency(state: StateDep, credentials: BearerDep) -> Principal | None:
        if not flag(state.settings):
            return None
        return await run_in_threadpool(authenticate, state.db, credentials)

    return dependency


def _classify_flag(settings: Settings) -> bool:
    return settings.classify_requires_key


def _batch_flag(settings: Settings) -> bool:
    return settings.batch_requires_key


ReviewerDep = Annotated[Principal, Depends(require_role("reviewer", "admin"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
ClassifyKeyDep = Annotated[Principal | None, Depends(require_key_if(_classify_flag))]
BatchKeyDep = Annotated[Principal | None, Depends(require_key_if(_batch_flag))]
