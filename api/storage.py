"""All database access of tandai: tables and the queries on them (SQLite or PostgreSQL).

Routes and CLI commands call the functions here; nothing else writes SQL. The schema is made and
changed by the Alembic migrations in `api/migrations/`, run by `Database.migrate()` under a lock so
that several workers starting at once migrate exactly once.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SelectBase,
    String,
    Text,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock held while migrating ("tandai" in ASCII).
MIGRATION_LOCK_ID = 0x74616E646169
# The revision that matches the schema of databases made before migrations existed.
BASELINE_REVISION = "0001"
# The newest migration in MIGRATIONS_DIR (a test holds it to alembic's own head): a database
# already there is left alone without importing alembic, ~5 MB of a server's memory.
HEAD_REVISION = "0008"

REVIEW_DECISIONS = ("accept", "correct", "reject")
KEY_ROLES = ("reviewer", "admin")
JOB_STATUSES = ("queued", "running", "succeeded", "failed")
CASE_STATUSES = ("diterima", "diproses", "selesai", "ditolak")
# a case with one of these as its latest status is closed: a new post is not its repeat
CLOSED_STATUSES = ("selesai", "ditolak")
# The same as SQL literals: an IN over bound values is rendered again at every execution
# (SQLAlchemy's "expanding" parameters); these constants are written into the statement once.
_CLOSED_STATUSES_SQL: list[ColumnElement[str]] = [
    literal_column(f"'{status}'") for status in CLOSED_STATUSES
]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def _new_id() -> str:
    return uuid.uuid4().hex


def new_ids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs from one read of the system's random source."""
    raw = os.urandom(16 * n)
    return [uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4).hex for i in range(n)]


def _now() -> datetime:
    return datetime.now(UTC)


class PostRow(Base):
    __tablename__ = "posts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_new_id)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    author: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now, index=True)
    # "<platform>:<post id>": a post already stored is never stored twice
    dedup_key: Mapped[str | None] = mapped_column(String(260), unique=True, index=True)
    # the client's Idempotency-Key header, scoped by who sent it
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True, index=True)
    # an open post from the last days that says the same about the same place
    # (no database foreign key: see migration 0003)
    repeat_of: Mapped[str | None] = mapped_column(String(32), index=True)
    repeat_similarity: Mapped[float | None] = mapped_column(Float)
    # when one worker claimed the post to send the overdue webhook (it is sent once)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    predictions: Mapped[list[PredictionRow]] = relationship(
        back_populates="post", order_by="PredictionRow.id"
    )
    reviews: Mapped[list[ReviewRow]] = relationship(back_populates="post", order_by="ReviewRow.id")
    responses: Mapped[list[ResponseRow]] = relationship(
        back_populates="post", order_by=lambda: (ResponseRow.responded_at, ResponseRow.id)
    )


class PredictionRow(Base):
    __tablename__ = "predictions"
    # the repeat search reads the original posts of one topic in one kecamatan over the last
    # days, newest first, and their post ids from the index alone (migration 0008)
    __table_args__ = (
        Index(
            "ix_predictions_repeat_candidates",
            "topic",
            "kecamatan",
            "original",
            "created_at",
            "post_id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    # Top-1 minus top-2 probability: never above `confidence`, so ordering the review queue by
    # it puts the least certain predictions first.
    margin: Mapped[float | None] = mapped_column(Float)
    alternatives: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    kecamatan: Mapped[str | None] = mapped_column(String(100), index=True)
    kelurahan: Mapped[str | None] = mapped_column(String(100))
    area_confidence: Mapped[float] = mapped_column(Float)
    area_evidence: Mapped[str | None] = mapped_column(Text)
    area_ambiguous: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    needs_review: Mapped[bool] = mapped_column(Boolean, index=True)
    review_reasons: Mapped[list[str]] = mapped_column(JSON)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    # the post is no repeat of an earlier one (`PostRow.repeat_of` is None), kept here as well
    # so that the repeat search's index skips repeats (migration 0007)
    original: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    post: Mapped[PostRow] = relationship(back_populates="predictions")


class RepeatVectorRow(Base):
    """The repeat search's vector of an original complaint (`api/repeat_search.py`), written
    with the post: a candidate whose vector has left the worker's cache (a flood of posts, a
    post another worker stored, a restart) is read from here instead of through the model.
    Only the repeat window's posts are ever candidates, so older rows are dropped."""

    __tablename__ = "repeat_vectors"

    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64))
    # `repeat_search.encode_vector`: the dtype's size, then int32 columns, then values
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ApiKeyRow(Base):
    """An API key: only the SHA-256 of the key is stored; the key is shown once at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ReviewRow(Base):
    """One person's decision on one post; every review is kept (the audit trail)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id"), index=True)
    reviewer_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    reviewer: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now, index=True)
    decision: Mapped[str] = mapped_column(String(16))
    before_topic: Mapped[str | None] = mapped_column(String(64))
    before_kecamatan: Mapped[str | None] = mapped_column(String(100))
    before_kelurahan: Mapped[str | None] = mapped_column(String(100))
    before_tags: Mapped[list[str]] = mapped_column(JSON)
    after_topic: Mapped[str | None] = mapped_column(String(64))
    after_kecamatan: Mapped[str | None] = mapped_column(String(100))
    after_kelurahan: Mapped[str | None] = mapped_column(String(100))
    after_tags: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")

    post: Mapped[PostRow] = relationship(back_populates="reviews")


class ResponseRow(Base):
    """An answer to one post by an official or an office; every one is kept (the case's
    history: each row keeps the status the case had from then on)."""

    __tablename__ = "responses"
    # a post's answers in order, its latest first when read backwards: the repeat search's
    # latest status of each candidate without a sort (migration 0008)
    __table_args__ = (Index("ix_responses_post_latest", "post_id", "responded_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id"))
    # an official id of officials.csv, or null when an office answered as a whole
    official_id: Mapped[str | None] = mapped_column(String(200))
    # the office code the answer speaks for (the official's office when an official answered)
    office: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    platform: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)

    post: Mapped[PostRow] = relationship(back_populates="responses")


class ModelVersionRow(Base):
    """A trained model version; at most one is active (a partial unique index says so)."""

    __tablename__ = "model_versions"
    __table_args__ = (
        Index(
            "ix_model_versions_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")


class RetrainJobRow(Base):
    __tablename__ = "retrain_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_new_id)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress: Mapped[str] = mapped_column(Text, default="")
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class NewPost:
    text: str
    source: str | None = None
    external_id: str | None = None
    author: str | None = None
    url: str | None = None
    posted_at: datetime | None = None
    idempotency_key: str | None = None
    repeat_of: str | None = None
    repeat_similarity: float | None = None

    @property
    def dedup_key(self) -> str | None:
        """The platform and the platform's post id: the same post is stored once."""
        if not self.external_id:
            return None
        return f"{self.source or 'other'}:{self.external_id}"


class Database:
    """An engine and a session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        self.sqlite_path: Path | None = None
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.backend == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                self.sqlite_path = Path(database)
                self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        # hide_parameters: a failed insert must not log the text of a post
        self.engine: Engine = create_engine(url, hide_parameters=True, **kwargs)
        if self.backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest migration, once, even with several processes at it.

        PostgreSQL: a transaction-scoped advisory lock around the whole upgrade (its DDL is
        transactional, so a second worker waits and then finds nothing to do). SQLite: an
        exclusive lock on a file beside the database. A database made before migrations existed
        (tables but no `alembic_version`) is first stamped with the baseline revision.
        """
        if self.at_head():
            return
        with self._migration_lock(), self.engine.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_ID})
            _upgrade(conn)

    def at_head(self) -> bool:
        """Whether the schema is at HEAD_REVISION (read with plain SQL)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            revisions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return list(revisions) == [HEAD_REVISION]

    def create_schema(self) -> None:
        """Kept for callers of the earlier API: same as `migrate()`."""
        self.migrate()

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.sqlite_path is None:
            yield
            return
        lock_path = self.sqlite_path.with_name(self.sqlite_path.name + ".migrate-lock")
        with lock_path.open("a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def _upgrade(conn: Connection) -> None:
    from alembic import command

    tables = set(inspect(conn).get_table_names())
    config = _alembic_config(conn)
    if "posts" in tables and "alembic_version" not in tables:
        command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, "head")


def head_revision() -> str:
    """The newest migration shipped with this version of tandai."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def schema_revision(conn: Connection) -> str | None:
    """The migration revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


# SQLite's page cache per connection, in KiB (its default is 2,000). The operating system caches
# the file anyway; with 512 KiB one worker held 4-5 MB less after 100,000 requests (245 against
# 249-250 MB) for 1-4% fewer `POST /classify` per second (bench/README.md).
SQLITE_CACHE_KIB = 512


# How long a new SQLite connection keeps trying to put a new database file in WAL mode while
# another connection holds the lock that takes (the busy timeout's 30 s).
SQLITE_WAL_WAIT_S = 30.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _use_wal(cursor: Any) -> None:
    """Put the database file in WAL mode, which it keeps: only a new file's first connection
    changes it. The change takes an exclusive lock that SQLite does not wait for, so connections
    opened together on a new file (several workers starting, the first migration) got "database
    is locked"; one that meets a locked file reads the mode again until the busy timeout."""
    deadline = time.monotonic() + SQLITE_WAL_WAIT_S
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


# -- posts and predictions ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPost:
    """What `add_classified_posts` wrote: the post's id."""

    id: str


def add_classified_posts(
    session: Session,
    posts: Sequence[NewPost],
    predictions: Sequence[dict[str, Any]],
    received_at: datetime | Sequence[datetime],
    ids: Sequence[str] | None = None,
) -> list[StoredPost]:
    """Store posts with their predictions; `predictions` hold PredictionRow column values,
    `received_at` one time for all posts or one per post, `ids` the posts' ids when the caller
    chose them (`new_ids`).

    Two multi-row INSERTs (no ORM unit of work): this is the hot path of every request.
    """
    if not posts:
        return []
    ids = list(ids) if ids is not None else new_ids(len(posts))
    received = (
        [received_at] * len(posts) if isinstance(received_at, datetime) else list(received_at)
    )
    post_rows = [
        {
            "id": post_id,
            "text": post.text,
            "source": post.source,
            "external_id": post.external_id,
            "author": post.author,
            "url": post.url,
            "posted_at": post.posted_at,
            "received_at": when,
            "dedup_key": post.dedup_key,
            "idempotency_key": post.idempotency_key,
            "repeat_of": post.repeat_of,
            "repeat_similarity": post.repeat_similarity,
        }
        for post_id, post, when in zip(ids, posts, received, strict=True)
    ]
    prediction_rows = [
        {**prediction, "post_id": post_id, "created_at": when, "original": post.repeat_of is None}
        for post_id, post, prediction, when in zip(ids, posts, predictions, received, strict=True)
    ]
    # Core inserts on the session's connection: the ORM's bulk path adds nothing here
    connection = session.connection()
    connection.execute(insert(Base.metadata.tables["posts"]), post_rows)
    connection.execute(insert(Base.metadata.tables["predictions"]), prediction_rows)
    return [StoredPost(i) for i in ids]


def find_existing_posts(
    session: Session, dedup_keys: Sequence[str], idempotency_keys: Sequence[str]
) -> tuple[dict[str, PostRow], dict[str, PostRow]]:
    """Posts already stored under these platform ids and idempotency keys."""
    by_dedup: dict[str, PostRow] = {}
    by_idem: dict[str, PostRow] = {}
    if dedup_keys:
        for row in session.scalars(select(PostRow).where(PostRow.dedup_key.in_(set(dedup_keys)))):
            by_dedup[str(row.dedup_key)] = row
    if idempotency_keys:
        query = select(PostRow).where(PostRow.idempotency_key.in_(set(idempotency_keys)))
        for row in session.scalars(query):
            by_idem[str(row.idempotency_key)] = row
    return by_dedup, by_idem


def _repeat_candidates_query(arm: int) -> Any:
    """Open originals of one (topic, kecamatan), newest first; `arm` names its parameters
    and marks its rows, so that several pairs are read in one query."""
    latest_status = (
        select(ResponseRow.status)
        .where(ResponseRow.post_id == PostRow.id, ResponseRow.status.is_not(None))
        .order_by(ResponseRow.responded_at.desc(), ResponseRow.id.desc())
        .limit(1)
        .correlate(PostRow)
        .scalar_subquery()
    )
    since = bindparam("since", type_=UTCDateTime())
    return (
        select(literal(arm).label("arm"), PostRow.id, PostRow.received_at)
        .join(PredictionRow, PredictionRow.post_id == PostRow.id)
        .where(
            PredictionRow.topic == bindparam(f"topic{arm}"),
            PredictionRow.kecamatan == bindparam(f"kecamatan{arm}"),
            # a post's prediction is made when it arrives: the index on (topic, kecamatan,
            # created_at) is read newest first and the scan stops at `limit` open originals
            PredictionRow.created_at >= since,
            PostRow.received_at >= since,
            # not a repeat: read from the index, so that repeats of a viral complaint, however
            # many, are never scanned
            PredictionRow.original == true(),
            # one reading of the latest status per row (no answer yet reads as "")
            func.coalesce(latest_status, "").not_in(_CLOSED_STATUSES_SQL),
        )
        .order_by(PredictionRow.created_at.desc())
        .limit(bindparam("limit"))
    )


# A union is compiled (and kept in SQLAlchemy's statement cache) once per number of arms: the
# arms come in these sizes only, the unused ones given a pair no post has.
_UNION_SIZES = (1, 2, 4, 8, 16)
_NO_PAIR = ("", "")


@lru_cache(maxsize=len(_UNION_SIZES))
def _repeat_candidates_union(arms: int) -> Any:
    """One query for `arms` pairs: each pair's own query (with its own limit), stacked."""
    parts = [_repeat_candidates_query(k).subquery() for k in range(arms)]
    selects = [select(p.c.arm, p.c.id, p.c.received_at) for p in parts]
    return selects[0] if arms == 1 else union_all(*selects)


def repeat_candidates(
    session: Session,
    pairs: Sequence[tuple[str, str]],
    since: datetime,
    limit: int = 200,
) -> dict[tuple[str, str], list[tuple[str, datetime]]]:
    """For each (topic, kecamatan): (id, received_at) of its recent open original posts (not
    repeats, not closed as `selesai` or `ditolak` by their latest answer), newest first, at
    most `limit` of them. One query reads up to 16 pairs."""
    found: dict[tuple[str, str], list[tuple[str, datetime]]] = {pair: [] for pair in pairs}
    wanted = list(found)
    largest = _UNION_SIZES[-1]
    for start in range(0, len(wanted), largest):
        chunk = wanted[start : start + largest]
        arms = next(n for n in _UNION_SIZES if n >= len(chunk))
        params: dict[str, Any] = {"since": since, "limit": limit}
        for k, (topic, kecamatan) in enumerate(chunk + [_NO_PAIR] * (arms - len(chunk))):
            params[f"topic{k}"] = topic
            params[f"kecamatan{k}"] = kecamatan
        rows = session.connection().execute(_repeat_candidates_union(arms), params)
        for arm, post_id, when in rows.all():
            found[chunk[arm]].append((str(post_id), when))
    # a union keeps no order: each pair's rows are put back newest first (a post's prediction
    # is made when it arrives, so its arrival orders them as the query did)
    for arm_rows in found.values():
        arm_rows.sort(key=lambda row: row[1], reverse=True)
    return found


def add_repeat_vectors(
    session: Session, model_version: str, rows: Sequence[tuple[str, bytes, datetime]]
) -> None:
    """Keep the repeat-search vectors (post id, encoded vector, when) of posts stored in this
    transaction."""
    if rows:
        session.connection().execute(
            insert(RepeatVectorRow),
            [
                {"post_id": p, "model_version": model_version, "vector": v, "created_at": when}
                for p, v, when in rows
            ],
        )


# Ids per query: well under every backend's limit on bound parameters.
_IDS_PER_QUERY = 1_000


def _id_chunks(post_ids: Sequence[str]) -> Iterator[list[str]]:
    """The distinct ids in lists of at most `_IDS_PER_QUERY`: one `IN (...)` each stays within
    every backend's limit on bound parameters."""
    ids = list(dict.fromkeys(post_ids))
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield ids[start : start + _IDS_PER_QUERY]


def repeat_vectors(
    session: Session, model_version: str, post_ids: Sequence[str]
) -> dict[str, bytes]:
    """The kept vectors of these posts made by `model_version` (posts without one are left out)."""
    found: dict[str, bytes] = {}
    for chunk in _id_chunks(post_ids):
        query = select(RepeatVectorRow.post_id, RepeatVectorRow.vector).where(
            RepeatVectorRow.model_version == model_version, RepeatVectorRow.post_id.in_(chunk)
        )
        found.update((str(p), bytes(v)) for p, v in session.connection().execute(query))
    return found


def drop_repeat_vectors(session: Session, before: datetime) -> int:
    """Drop the kept vectors of posts stored before `before`; returns how many went."""
    result = session.connection().execute(
        delete(RepeatVectorRow).where(RepeatVectorRow.created_at < before)
    )
    return int(result.rowcount or 0)


def post_texts(session: Session, post_ids: Sequence[str]) -> dict[str, str]:
    """The texts of these posts, by id."""
    found: dict[str, str] = {}
    for chunk in _id_chunks(post_ids):
        query = select(PostRow.id, PostRow.text).where(PostRow.id.in_(chunk))
        found.update((str(i), str(t)) for i, t in session.connection().execute(query))
    return found


def count_repeats(session: Session, post_ids: Sequence[str]) -> dict[str, int]:
    """How many later posts were linked to each of these posts as repeats."""
    found: dict[str, int] = {}
    for chunk in _id_chunks(post_ids):
        query = (
            select(PostRow.repeat_of, func.count())
            .where(PostRow.repeat_of.in_(chunk))
            .group_by(PostRow.repeat_of)
        )
        found.update((str(k), int(n)) for k, n in session.execute(query))
    return found


def get_post(session: Session, post_id: str) -> PostRow | None:
    return session.get(PostRow, post_id)


def latest_prediction(post: PostRow) -> PredictionRow:
    return post.predictions[-1]


def latest_review(post: PostRow) -> ReviewRow | None:
    return post.reviews[-1] if post.reviews else None


def count_posts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PostRow)) or 0)


def topic_is_stored(session: Session, topic: str) -> bool:
    """Whether a stored prediction or review carries `topic` as written (a label of an earlier
    model, say); the prediction's topic is indexed, a review's read only when none has it."""
    for column in (PredictionRow.topic, ReviewRow.after_topic):
        if session.scalar(select(literal(True)).where(column == topic).limit(1)):
            return True
    return False


def _latest_ids(column: Any, key: Any) -> Any:
    """(post_id, newest row id) per post, as a subquery."""
    return select(key.label("post_id"), func.max(column).label("row_id")).group_by(key).subquery()


def _count(session: Session, stmt: SelectBase) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def review_queue(
    session: Session,
    limit: int,
    offset: int,
    topic: str | None = None,
    kecamatan: str | None = None,
) -> tuple[list[tuple[PostRow, PredictionRow]], int]:
    """Posts no one has reviewed, most useful first: needs_review, then the smallest top-2
    margin, then the lowest confidence, then the oldest. Returns one page and the total."""
    newest = _latest_ids(PredictionRow.id, PredictionRow.post_id)
    stmt = (
        select(PostRow, PredictionRow)
        .join(newest, newest.c.post_id == PostRow.id)
        .join(PredictionRow, PredictionRow.id == newest.c.row_id)
        .where(~exists().where(ReviewRow.post_id == PostRow.id))
    )
    if topic is not None:
        stmt = stmt.where(PredictionRow.topic == topic)
    if kecamatan is not None:
        stmt = stmt.where(PredictionRow.kecamatan == kecamatan)
    total = _count(session, stmt)
    page = stmt.order_by(
        PredictionRow.needs_review.desc(),
        func.coalesce(PredictionRow.margin, PredictionRow.confidence).asc(),
        PredictionRow.confidence.asc(),
        PostRow.received_at.asc(),
        PostRow.id.asc(),
    )
    rows = session.execute(page.limit(limit).offset(offset)).all()
    return [(post, prediction) for post, prediction in rows], total


def count_review_queue(session: Session) -> int:
    """How many posts no one has reviewed yet (the review queue's length)."""
    unreviewed = select(PostRow.id).where(~exists().where(ReviewRow.post_id == PostRow.id))
    return _count(session, unreviewed)


def list_posts(
    session: Session,
    *,
    limit: int,
    offset: int,
    reviewed: bool | None = None,
    topic: str | None = None,
    kecamatan: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[PostRow], int]:
    """Stored posts, newest first. `topic` and `kecamatan` match the current label: the latest
    review's when the post was reviewed, else the prediction's."""
    newest_prediction = _latest_ids(PredictionRow.id, PredictionRow.post_id)
    newest_review = _latest_ids(ReviewRow.id, ReviewRow.post_id)
    stmt = (
        select(PostRow)
        .join(newest_prediction, newest_prediction.c.post_id == PostRow.id)
        .join(PredictionRow, PredictionRow.id == newest_prediction.c.row_id)
        .outerjoin(newest_review, newest_review.c.post_id == PostRow.id)
        .outerjoin(ReviewRow, ReviewRow.id == newest_review.c.row_id)
    )
    is_reviewed = ReviewRow.id.is_not(None)
    if reviewed is True:
        stmt = stmt.where(is_reviewed)
    elif reviewed is False:
        stmt = stmt.where(ReviewRow.id.is_(None))
    if topic is not None:
        current = case((is_reviewed, ReviewRow.after_topic), else_=PredictionRow.topic)
        stmt = stmt.where(current == topic)
    if kecamatan is not None:
        current = case((is_reviewed, ReviewRow.after_kecamatan), else_=PredictionRow.kecamatan)
        stmt = stmt.where(current == kecamatan)
    if since is not None:
        stmt = stmt.where(PostRow.received_at >= since)
    if until is not None:
        stmt = stmt.where(PostRow.received_at < until)
    total = _count(session, stmt)
    page = (
        stmt.order_by(PostRow.received_at.desc(), PostRow.id.asc())
        .limit(limit)
        .offset(offset)
        .options(selectinload(PostRow.predictions), selectinload(PostRow.reviews))
    )
    return list(session.scalars(page).all()), total


# -- reviews -----------------------------------------------------------------------------------


def add_review(session: Session, post: PostRow, **columns: Any) -> ReviewRow:
    """Store one review of `post` (ReviewRow column values); earlier reviews stay."""
    row = ReviewRow(post_id=post.id, created_at=_now(), **columns)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ReviewedLabel:
    """The latest review of one post, as a training row."""

    post_id: str
    text: str
    source: str | None
    decision: str
    topic: str | None
    kecamatan: str | None
    kelurahan: str | None
    reviewed_at: datetime
    review_id: int


def reviewed_labels(session: Session) -> Iterator[ReviewedLabel]:
    """The latest review of every reviewed post, oldest review first."""
    newest = _latest_ids(ReviewRow.id, ReviewRow.post_id)
    stmt = (
        select(ReviewRow, PostRow.text, PostRow.source)
        .join(newest, newest.c.row_id == ReviewRow.id)
        .join(PostRow, PostRow.id == ReviewRow.post_id)
        .order_by(ReviewRow.id)
        .execution_options(yield_per=500)
    )
    for review, post_text, source in session.execute(stmt):
        yield ReviewedLabel(
            post_id=review.post_id,
            text=post_text,
            source=source,
            decision=review.decision,
            topic=review.after_topic,
            kecamatan=review.after_kecamatan,
            kelurahan=review.after_kelurahan,
            reviewed_at=review.created_at,
            review_id=review.id,
        )


def count_reviews(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ReviewRow)) or 0)


# -- API keys ----------------------------------------------------------------------------------


def add_api_key(session: Session, name: str, role: str, key_hash: str) -> ApiKeyRow:
    if role not in KEY_ROLES:
        raise ValueError(f"role must be one of {', '.join(KEY_ROLES)}, not {role!r}")
    row = ApiKeyRow(name=name, role=role, key_hash=key_hash, created_at=_now())
    session.add(row)
    session.flush()
    return row


def find_api_key(session: Session, key_hash: str) -> ApiKeyRow | None:
    """The unrevoked key with this hash, if any."""
    return session.scalar(
        select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None))
    )


def list_api_keys(session: Session) -> list[ApiKeyRow]:
    return list(session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)).all())


def revoke_api_key(session: Session, key_id: int) -> ApiKeyRow | None:
    row = session.get(ApiKeyRow, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = _now()
    return row


# -- model versions ----------------------------------------------------------------------------


def register_model_version(
    session: Session,
    version: str,
    path: str,
    sha256: str,
    metrics: dict[str, Any],
    created_at: datetime | None = None,
) -> ModelVersionRow:
    """Record a version (or refresh its path and metrics when it is already recorded)."""
    row = session.get(ModelVersionRow, version)
    if row is None:
        row = ModelVersionRow(
            version=version,
            path=path,
            sha256=sha256,
            metrics=metrics,
            active=False,
            created_at=created_at or _now(),
            reason="",
        )
        session.add(row)
    else:
        row.path, row.sha256, row.metrics = path, sha256, metrics
    session.flush()
    return row


def get_model_version(session: Session, version: str) -> ModelVersionRow | None:
    return session.get(ModelVersionRow, version)


def list_model_versions(session: Session) -> list[ModelVersionRow]:
    return list(
        session.scalars(select(ModelVersionRow).order_by(ModelVersionRow.version.desc())).all()
    )


def active_model_version(session: Session) -> ModelVersionRow | None:
    return session.scalar(select(ModelVersionRow).where(ModelVersionRow.active.is_(True)))


def activate_model_version(session: Session, version: str, reason: str) -> ModelVersionRow:
    """Make `version` (already registered) the only active one."""
    session.execute(
        update(ModelVersionRow)
        .where(ModelVersionRow.active.is_(True), ModelVersionRow.version != version)
        .values(active=False)
    )
    session.flush()
    row = session.get(ModelVersionRow, version, with_for_update=True)
    if row is None:
        raise KeyError(version)
    row.active = True
    row.promoted_at = _now()
    row.reason = reason
    session.flush()
    return row


# -- retrain jobs ------------------------------------------------------------------------------


def add_retrain_job(session: Session, requested_by: str) -> RetrainJobRow:
    row = RetrainJobRow(
        id=_new_id(), status="queued", requested_by=requested_by, created_at=_now(), progress=""
    )
    session.add(row)
    session.flush()
    return row


def get_retrain_job(session: Session, job_id: str) -> RetrainJobRow | None:
    return session.get(RetrainJobRow, job_id)


def update_retrain_job(session: Session, job_id: str, **columns: Any) -> None:
    session.execute(update(RetrainJobRow).where(RetrainJobRow.id == job_id).values(**columns))


def unfinished_retrain_job(session: Session, since: datetime) -> RetrainJobRow | None:
    """A job queued or running that was created after `since` (older ones count as lost)."""
    return session.scalar(
        select(RetrainJobRow)
        .where(RetrainJobRow.status.in_(("queued", "running")), RetrainJobRow.created_at >= since)
        .order_by(RetrainJobRow.created_at.desc())
        .limit(1)
    )


# -- responses and what is owed ----------------------------------------------------------------


def add_response(session: Session, post: PostRow, **columns: Any) -> ResponseRow:
    """Store one answer to `post` (ResponseRow column values); earlier answers stay."""
    row = ResponseRow(post_id=post.id, created_at=_now(), **columns)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ImportedPost:
    """A post from another system with its prediction and the answers it got (bulk loading)."""

    post: NewPost
    received_at: datetime
    prediction: dict[str, Any]
    responses: Sequence[dict[str, Any]] = ()


def add_imported_posts(session: Session, items: Sequence[ImportedPost]) -> list[str]:
    """Store posts, each with its own `received_at`, one prediction and its responses, in
    bulk (executemany); returns the new post ids in input order."""
    ids = new_ids(len(items))
    now = _now()
    if not items:
        return ids
    session.execute(
        insert(PostRow),
        [
            {
                "id": post_id,
                "text": item.post.text,
                "source": item.post.source,
                "external_id": item.post.external_id,
                "author": item.post.author,
                "url": item.post.url,
                "posted_at": item.post.posted_at,
                "received_at": item.received_at,
            }
            for post_id, item in zip(ids, items, strict=True)
        ],
    )
    session.execute(
        insert(PredictionRow),
        [
            {"area_ambiguous": False, "created_at": now, **item.prediction, "post_id": post_id}
            for post_id, item in zip(ids, items, strict=True)
        ],
    )
    answers = [
        {"note": "", "created_at": now, **response, "post_id": post_id}
        for post_id, item in zip(ids, items, strict=True)
        for response in item.responses
    ]
    if answers:
        session.execute(insert(ResponseRow), answers)
    return ids


@dataclass(frozen=True)
class Answer:
    official_id: str | None
    office: str | None
    responded_at: datetime
    status: str | None


@dataclass(frozen=True)
class Case:
    """One post as the response reports see it: its current labels and tags (the latest
    review's when reviewed, else the latest prediction's), its deadline and its answers."""

    post_id: str
    text: str
    source: str | None
    url: str | None
    received_at: datetime
    start: datetime  # when the clock started: posted_at, else received_at
    respond_by: datetime
    topic: str | None
    kecamatan: str | None
    tags: tuple[str, ...]
    repeat_of: str | None
    repeats: int
    answers: tuple[Answer, ...]
    overdue_notified_at: datetime | None


_IN_CHUNK = 500


def list_cases(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    due_before: datetime | None = None,
    due_since: datetime | None = None,
    originals_only: bool = False,
    unnotified_only: bool = False,
) -> list[Case]:
    """Posts received in [since, until) and due (respond_by) in [due_since, due_before), with
    everything needed to tell who still owes an answer; ordered by respond_by, oldest first."""
    newest_prediction = _latest_ids(PredictionRow.id, PredictionRow.post_id)
    newest_review = _latest_ids(ReviewRow.id, ReviewRow.post_id)
    stmt = (
        select(
            PostRow.id,
            PostRow.text,
            PostRow.source,
            PostRow.url,
            PostRow.posted_at,
            PostRow.received_at,
            PostRow.repeat_of,
            PostRow.overdue_notified_at,
            PredictionRow.respond_by,
            PredictionRow.topic,
            PredictionRow.kecamatan,
            PredictionRow.tags,
            ReviewRow.id,
            ReviewRow.after_topic,
            ReviewRow.after_kecamatan,
            ReviewRow.after_tags,
        )
        .join(newest_prediction, newest_prediction.c.post_id == PostRow.id)
        .join(PredictionRow, PredictionRow.id == newest_prediction.c.row_id)
        .outerjoin(newest_review, newest_review.c.post_id == PostRow.id)
        .outerjoin(ReviewRow, ReviewRow.id == newest_review.c.row_id)
    )
    if since is not None:
        stmt = stmt.where(PostRow.received_at >= since)
    if until is not None:
        stmt = stmt.where(PostRow.received_at < until)
    if due_before is not None:
        stmt = stmt.where(PredictionRow.respond_by < due_before)
    if due_since is not None:
        stmt = stmt.where(PredictionRow.respond_by >= due_since)
    if originals_only:
        stmt = stmt.where(PostRow.repeat_of.is_(None))
    if unnotified_only:
        stmt = stmt.where(PostRow.overdue_notified_at.is_(None))
    stmt = stmt.order_by(PredictionRow.respond_by, PostRow.received_at, PostRow.id)
    rows = session.execute(stmt).all()

    answers: dict[str, list[Answer]] = {}
    repeats: dict[str, int] = {}
    ids = [r[0] for r in rows]
    for i in range(0, len(ids), _IN_CHUNK):
        chunk = ids[i : i + _IN_CHUNK]
        for post_id, official_id, office, responded_at, status in session.execute(
            select(
                ResponseRow.post_id,
                ResponseRow.official_id,
                ResponseRow.office,
                ResponseRow.responded_at,
                ResponseRow.status,
            )
            .where(ResponseRow.post_id.in_(chunk))
            .order_by(ResponseRow.responded_at, ResponseRow.id)
        ):
            answers.setdefault(post_id, []).append(
                Answer(official_id, office, responded_at, status)
            )
        for root, n in session.execute(
            select(PostRow.repeat_of, func.count())
            .where(PostRow.repeat_of.in_(chunk))
            .group_by(PostRow.repeat_of)
        ):
            repeats[str(root)] = int(n)

    out = []
    for (
        post_id,
        text_,
        source,
        url,
        posted_at,
        received_at,
        repeat_of,
        notified_at,
        respond_by,
        topic,
        kecamatan,
        tags,
        review_id,
        reviewed_topic,
        reviewed_kecamatan,
        reviewed_tags,
    ) in rows:
        if review_id is not None:
            topic, kecamatan = reviewed_topic, reviewed_kecamatan
            tag_ids = [str(t) for t in reviewed_tags]
        else:
            tag_ids = [str(t["official_id"]) for t in tags]
        out.append(
            Case(
                post_id=post_id,
                text=text_,
                source=source,
                url=url,
                received_at=received_at,
                start=posted_at or received_at,
                respond_by=respond_by,
                topic=topic,
                kecamatan=kecamatan,
                tags=tuple(dict.fromkeys(tag_ids)),
                repeat_of=repeat_of,
                repeats=repeats.get(post_id, 0),
                answers=tuple(answers.get(post_id, ())),
                overdue_notified_at=notified_at,
            )
        )
    return out


def claim_overdue_notice(session: Session, post_id: str, at: datetime) -> bool:
    """Mark the post's overdue webhook as taken by the caller; False when another worker (or
    an earlier run) already took it. One conditional UPDATE, so exactly one caller wins."""
    result = session.execute(
        update(PostRow)
        .where(PostRow.id == post_id, PostRow.overdue_notified_at.is_(None))
        .values(overdue_notified_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0)) == 1


def release_overdue_notice(session: Session, post_id: str, at: datetime) -> None:
    """Give back a claim made at `at` (the webhook failed), so a later run tries again."""
    session.execute(
        update(PostRow)
        .where(PostRow.id == post_id, PostRow.overdue_notified_at == at)
        .values(overdue_notified_at=None)
        .execution_options(synchronize_session=False)
    )
