"""`tandai keys`: create prints a key once and stores only its hash; list; revoke."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import storage
from api.auth import hash_key, identify
from tests.conftest import DATA_DIR
from training.cli import main


@pytest.fixture
def database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("TANDAI_DATABASE_URL", url)
    monkeypatch.setenv("TANDAI_DATA_DIR", str(DATA_DIR))
    return url


def test_create_list_revoke(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--role", "reviewer", "--name", "ani"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("tdk_") and len(key) > 40
    assert "shown only this once" in out.err
    assert main(["keys", "create", "--role", "admin"]) == 0
    admin_key = capsys.readouterr().out.strip()
    assert admin_key != key

    db = storage.Database(database_url)
    with db.session() as session:
        rows = storage.list_api_keys(session)
        assert [(r.name, r.role, r.key_hash) for r in rows] == [
            ("ani", "reviewer", hash_key(key)),
            ("admin", "admin", hash_key(admin_key)),
        ]
    assert identify(db, key) is not None

    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ani" in listing and "reviewer" in listing and "active" in listing
    assert key not in listing and hash_key(key) not in listing

    assert main(["keys", "revoke", str(rows[0].id)]) == 0
    assert identify(db, key) is None
    assert identify(db, admin_key) is not None
    assert main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    db.dispose()


def test_bad_key_commands_exit_2(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "revoke", "999"]) == 2
    assert "no key with id 999" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["keys", "create", "--role", "superuser"])
    assert exc.value.code == 2
