"""The schema comes from the migrations, once, however many workers start together."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, inspect, text

from api import storage
from api.storage import Base, Database, head_revision, schema_revision

HEAD = head_revision()
TABLES = {"posts", "predictions", "reviews", "model_versions", "retrain_jobs", "api_keys"}


def _migrate(url: str) -> None:
    db = Database(url)
    try:
        db.migrate()
    finally:
        db.dispose()


def _check_migrated_once(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            HEAD
        ]
    engine.dispose()


def test_head_revision_constant_is_the_newest_migration() -> None:
    assert storage.HEAD_REVISION == HEAD


def test_a_database_at_head_is_not_migrated_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(database_url)
    try:
        assert not db.at_head()
        db.migrate()
        assert db.at_head()

        upgrades: list[object] = []
        monkeypatch.setattr(storage, "_upgrade", upgrades.append)
        db.migrate()
        assert upgrades == []  # nothing to do, and alembic not asked
        with db.engine.begin() as conn:  # a database behind head is upgraded as before
            conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        assert not db.at_head()
        db.migrate()
        assert len(upgrades) == 1
    finally:
        db.dispose()


def _migrate_together(url: str, workers: int = 6) -> list[BaseException]:
    """`workers` threads migrating `url` at the same moment; the errors they met."""
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def worker() -> None:
        try:
            start.wait()
            _migrate(url)
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_migrations_in_threads_run_once(database_url: str) -> None:
    assert _migrate_together(database_url) == []
    _check_migrated_once(database_url)


def test_connections_opened_together_on_a_new_sqlite_file_all_open(tmp_path: Path) -> None:
    """The first connections to a new file race to put it in WAL mode; SQLite answers the
    losers "database is locked" at once, without its busy timeout (one round in ~20 failed
    before they read the mode again). Many rounds of six workers starting together."""
    for round_ in range(25):
        url = f"sqlite:///{tmp_path / f'race{round_}.db'}"
        assert _migrate_together(url) == [], f"round {round_}"
        _check_migrated_once(url)
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        engine.dispose()


class _LockedCursor:
    """A cursor whose file is locked for the first `busy` statements."""

    def __init__(self, busy: int, message: str = "database is locked") -> None:
        self.busy, self.message = busy, message
        self.statements: list[str] = []
        self.mode = ""

    def execute(self, sql: str) -> _LockedCursor:
        self.statements.append(sql)
        if len(self.statements) <= self.busy:
            raise sqlite3.OperationalError(self.message)
        self.mode = "wal" if sql.endswith("=WAL") else "delete"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


def test_wal_mode_is_retried_while_the_file_is_locked_and_only_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cursor = _LockedCursor(busy=3)
    storage._use_wal(cursor)
    assert cursor.statements[-2:] == ["PRAGMA journal_mode", "PRAGMA journal_mode=WAL"]
    assert len(cursor.statements) == 5
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        storage._use_wal(_LockedCursor(busy=1, message="disk I/O error"))
    monkeypatch.setattr(storage, "SQLITE_WAL_WAIT_S", 0.0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        storage._use_wal(_LockedCursor(busy=10**6))


def test_concurrent_migrations_in_processes_run_once(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_migrate, args=(database_url,)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    _check_migrated_once(database_url)


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    _migrate(database_url)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diffs = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
        assert schema_revision(conn) == HEAD
    engine.dispose()
    assert diffs == []


def test_database_made_before_migrations_is_stamped_and_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # the schema `create_all` made before there were migrations
        conn.execute(
            text(
                "CREATE TABLE posts (id VARCHAR(32) PRIMARY KEY, text TEXT NOT NULL, "
                "source VARCHAR(16), external_id VARCHAR(200), author VARCHAR(200), url TEXT, "
                "posted_at DATETIME, received_at DATETIME NOT NULL)"
            )
        )
        conn.execute(
            text(
                "CREATE TABLE predictions (id INTEGER PRIMARY KEY, post_id VARCHAR(32) NOT NULL "
                "REFERENCES posts(id), model_version VARCHAR(64) NOT NULL, topic VARCHAR(64) "
                "NOT NULL, confidence FLOAT NOT NULL, alternatives JSON NOT NULL, kecamatan "
                "VARCHAR(100), kelurahan VARCHAR(100), area_confidence FLOAT NOT NULL, "
                "area_evidence TEXT, area_ambiguous BOOLEAN NOT NULL, tags JSON NOT NULL, "
                "needs_review BOOLEAN NOT NULL, review_reasons JSON NOT NULL, respond_by "
                "DATETIME NOT NULL, created_at DATETIME NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO posts VALUES ('p1', 'halo', NULL, NULL, NULL, NULL, NULL, "
                "'2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO predictions VALUES (1, 'p1', 'v1', 'sampah', 0.7, "
                '\'[{"label": "jalan", "confidence": 0.2}]\', NULL, NULL, 0, NULL, 0, \'[]\', '
                "0, '[]', '2026-01-02 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    _migrate(url)
    _check_migrated_once(url)
    db = Database(url)
    with db.session() as session:
        post = storage.get_post(session, "p1")
        assert post is not None
        assert storage.latest_prediction(post).margin == pytest.approx(0.5)
    db.dispose()


def test_sqlite_runs_with_wal_busy_timeout_foreign_keys_and_a_small_page_cache(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # negative: KiB, not pages
        assert (
            conn.exec_driver_sql("PRAGMA cache_size").scalar() == -storage.SQLITE_CACHE_KIB == -512
        )
    db.dispose()


def test_only_one_model_version_can_be_active(database_url: str) -> None:
    _migrate(database_url)
    db = Database(database_url)
    with db.session() as session:
        for version in ("v1", "v2"):
            storage.register_model_version(session, version, f"/m/{version}", "0" * 64, {})
        storage.activate_model_version(session, "v1", "first")
        storage.activate_model_version(session, "v2", "second")
    with db.session() as session:
        active = storage.active_model_version(session)
        assert active is not None and active.version == "v2"
        assert [v.version for v in storage.list_model_versions(session) if v.active] == ["v2"]
    db.dispose()


def test_upgrade_marks_the_predictions_of_stored_repeats_as_not_original(
    database_url: str,
) -> None:
    from alembic import command

    engine = create_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(storage._alembic_config(conn), "0006")
        for post_id, repeat_of in (("p1", None), ("p2", "p1")):
            conn.execute(
                text(
                    "INSERT INTO posts (id, text, received_at, repeat_of) "
                    "VALUES (:id, 'sampah numpuk', '2026-11-01 00:00:00', :repeat_of)"
                ),
                {"id": post_id, "repeat_of": repeat_of},
            )
            conn.execute(
                text(
                    "INSERT INTO predictions (post_id, model_version, topic, confidence, "
                    "alternatives, kecamatan, area_confidence, area_ambiguous, tags, "
                    "needs_review, review_reasons, respond_by, created_at) VALUES (:id, 'v1', "
                    "'sampah', 0.9, '[]', 'Ratu Agung', 1.0, false, '[]', false, '[]', "
                    "'2026-11-02 00:00:00', '2026-11-01 00:00:00')"
                ),
                {"id": post_id},
            )
    engine.dispose()
    _migrate(database_url)
    _check_migrated_once(database_url)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT post_id, original FROM predictions ORDER BY post_id"))
        assert [(p, bool(o)) for p, o in rows] == [("p1", True), ("p2", False)]
    engine.dispose()


def test_the_repeat_search_reads_original_predictions_through_their_index(
    tmp_path: Path,
) -> None:
    """The candidates' query is served by the index that leads with (topic, kecamatan,
    original): repeats of a viral complaint are never scanned. The index holds the post ids
    (no prediction row is read), and each candidate's latest answer comes from the answers'
    index in order, without a sort (migration 0008)."""
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    db.migrate()
    executed: list[tuple[str, object]] = []

    def keep(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        executed.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", keep)
    since = datetime(2026, 11, 1, tzinfo=UTC)
    with db.session() as session:
        storage.repeat_candidates(session, [("sampah", "Ratu Agung")], since)
    event.remove(db.engine, "before_cursor_execute", keep)
    ((statement, params),) = [(s, p) for s, p in executed if "predictions" in s]
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
    db.dispose()
    details = " | ".join(str(row[-1]) for row in plan)
    assert (
        "COVERING INDEX ix_predictions_repeat_candidates (topic=? AND kecamatan=? AND original=?"
        in details
    )
    assert "responses USING INDEX ix_responses_post_latest (post_id=?)" in details
    assert "TEMP B-TREE" not in details
