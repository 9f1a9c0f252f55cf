"""API keys for the API tests: one per role, stored in the test's database."""

from __future__ import annotations

import pytest

from api import storage
from api.auth import hash_key, new_key
from api.settings import Settings


def create_key(database_url: str, role: str, name: str | None = None) -> str:
    db = storage.Database(database_url)
    try:
        db.migrate()
        key = new_key()
        with db.session() as session:
            storage.add_api_key(session, name or f"{role}-test", role, hash_key(key))
    finally:
        db.dispose()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def reviewer_headers(settings: Settings) -> dict[str, str]:
    return bearer(create_key(settings.database_url, "reviewer", "ani"))


@pytest.fixture
def admin_headers(settings: Settings) -> dict[str, str]:
    return bearer(create_key(settings.database_url, "admin", "budi"))
