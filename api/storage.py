"""All database access of tandai: tables and the queries on them (SQLite or PostgreSQL).

Routes and CLI commands call the functions here; nothing else writes SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator


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

    predictions: Mapped[list[PredictionRow]] = relationship(
        back_populates="post", order_by="PredictionRow.id"
    )


class PredictionRow(Base):
    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64), index=True)
    confidence: Mapped[float] = mapped_column(Float)
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

    post: Mapped[PostRow] = relationship(back_populates="predictions")


@dataclass(frozen=True)
class NewPost:
    text: str
    source: str | None = None
    external_id: str | None = None
    author: str | None = None
    url: str | None = None
    posted_at: datetime | None = None


class Database:
    """An engine and a session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def add_classified_posts(
    session: Session,
    posts: Sequence[NewPost],
    predictions: Sequence[dict[str, Any]],
    received_at: datetime,
) -> list[PostRow]:
    """Store posts with their predictions; `predictions` hold PredictionRow column values."""
    rows: list[PostRow] = []
    for post, prediction in zip(posts, predictions, strict=True):
        row = PostRow(
            id=_new_id(),
            text=post.text,
            source=post.source,
            external_id=post.external_id,
            author=post.author,
            url=post.url,
            posted_at=post.posted_at,
            received_at=received_at,
        )
        row.predictions.append(PredictionRow(**prediction))
        rows.append(row)
    session.add_all(rows)
    session.flush()
    return rows


def get_post(session: Session, post_id: str) -> PostRow | None:
    return session.get(PostRow, post_id)


def latest_prediction(post: PostRow) -> PredictionRow:
    return post.predictions[-1]


def count_posts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PostRow)) or 0)
