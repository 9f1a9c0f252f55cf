"""Shared fixtures: a tiny model trained once per session, settings and databases per test."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from api.settings import PROJECT_DIR, Settings
from api.storage import Base, Database, count_posts
from model.artifact import ModelArtifact
from training.train import train_and_save

DATA_DIR = PROJECT_DIR / "data"
POSTGRES_URL = os.environ.get(
    "TANDAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# `make test` runs the suite in parallel workers (pytest-xdist); each has a PostgreSQL
# database of its own ("test_gw0", "test_gw1"), since every test empties the one it uses.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

# A handful of posts per topic: enough for a model that tells them apart, fast to train.
TINY_CORPUS: list[tuple[str, str]] = [
    ("sampah menumpuk di pinggir jalan dak diangkut", "sampah"),
    ("tumpukan sampah bau busuk sudah seminggu", "sampah"),
    ("truk sampah tidak datang lagi, bau nian", "sampah"),
    ("TPS liar penuh sampah plastik", "sampah"),
    ("sampah rumah tangga dibuang sembarangan ke lahan kosong", "sampah"),
    ("jalan berlubang besar bahaya untuk motor", "jalan"),
    ("aspal jalan rusak parah banyak lobang", "jalan"),
    ("jembatan retak dan jalan amblas", "jalan"),
    ("jalan hancur dak pernah diperbaiki", "jalan"),
    ("trotoar rusak dan jalan penuh lubang", "jalan"),
    ("banjir setiap hujan karena selokan tersumbat", "banjir_drainase"),
    ("drainase mampet air masuk ke rumah warga", "banjir_drainase"),
    ("parit penuh lumpur jadi banjir", "banjir_drainase"),
    ("gorong-gorong tersumbat banjir lagi", "banjir_drainase"),
    ("genangan air tinggi karena siring tidak mengalir", "banjir_drainase"),
    ("terima kasih pak wali atas kerja kerasnya", "bukan_keluhan"),
    ("selamat pagi warga bengkulu semoga sehat selalu", "bukan_keluhan"),
    ("mantap pelayanan cepat sekali, salut", "bukan_keluhan"),
    ("info lowongan kerja dong min", "bukan_keluhan"),
    ("selamat hari jadi kota bengkulu", "bukan_keluhan"),
]


def write_labels(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "topic", "kecamatan", "kelurahan", "source"])
        for text_, topic in rows:
            writer.writerow([text_, topic, "", "", "x"])
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> ModelArtifact:
    """A model version trained on TINY_CORPUS, saved in a models directory of its own."""
    models = tmp_path_factory.mktemp("models")
    texts = [t for t, _ in TINY_CORPUS]
    labels = [label for _, label in TINY_CORPUS]
    return train_and_save(
        texts,
        labels,
        models / "20260101T000000000000Z",
        data_sha256="tiny",
        data_files=["tiny"],
        classifier="svc",
        cv_folds=0,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a test server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    base: str, proc: subprocess.Popen[bytes], seconds: float = 60, path: str = "/ready"
) -> None:
    """Wait until the test server at `base` answers `path` with 200; fail if it exits first
    (with its output, when it was captured) or takes longer than `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}{path}", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise AssertionError(f"the server exited before it was ready\n{output}")
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.2)


def count_stored_posts(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.session() as session:
            return count_posts(session)
    finally:
        db.dispose()


def worker_database_url(url: str, worker: str) -> str:
    """`url` itself outside parallel runs; else the same server's database named after the
    worker ("test" -> "test_gw1"), created when it does not exist yet."""
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not found:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """This worker's PostgreSQL test database; the test skips, saying why, where no server
    answers."""
    try:
        url = worker_database_url(POSTGRES_URL, XDIST_WORKER)
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except (DBAPIError, ImportError) as exc:  # no server, no driver, or no right to create
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} cannot be used: {str(exc).splitlines()[0]}")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean database per test: a SQLite file, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tandai.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    drop_all_tables(url)
    yield url
    drop_all_tables(url)


def drop_all_tables(url: str) -> None:
    """Every table of tandai, and the migrations' version table, so the next test migrates anew."""
    engine = create_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The test's database, migrated, for tests that use the storage layer directly."""
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def settings(tiny_model: ModelArtifact, database_url: str) -> Settings:
    return Settings(database_url=database_url, model_dir=tiny_model.path.parent, data_dir=DATA_DIR)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c
