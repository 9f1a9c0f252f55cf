"""Idempotent posts (platform post id, Idempotency-Key) and repeated-complaint links.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN: a batch rebuild of `posts` would break the other tables'
    # foreign keys to it on SQLite. `repeat_of` is therefore an indexed id without a
    # database-level foreign key; storage only ever writes ids of stored posts into it.
    op.add_column("posts", sa.Column("dedup_key", sa.String(260)))
    op.add_column("posts", sa.Column("idempotency_key", sa.String(300)))
    op.add_column("posts", sa.Column("repeat_of", sa.String(32)))
    op.add_column("posts", sa.Column("repeat_similarity", sa.Float()))
    _backfill_dedup_keys()
    op.create_index("ix_posts_dedup_key", "posts", ["dedup_key"], unique=True)
    op.create_index("ix_posts_idempotency_key", "posts", ["idempotency_key"], unique=True)
    op.create_index("ix_posts_repeat_of", "posts", ["repeat_of"])


def _backfill_dedup_keys() -> None:
    """Posts stored before: the first of each (platform, post id) keeps the key."""
    posts = sa.table(
        "posts",
        sa.column("id", sa.String()),
        sa.column("source", sa.String()),
        sa.column("external_id", sa.String()),
        sa.column("received_at", sa.DateTime()),
        sa.column("dedup_key", sa.String()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(posts.c.id, posts.c.source, posts.c.external_id)
        .where(posts.c.external_id.is_not(None))
        .order_by(posts.c.received_at, posts.c.id)
    ).all()
    seen: set[str] = set()
    for post_id, source, external_id in rows:
        key = f"{source or 'other'}:{external_id}"
        if key in seen:
            continue
        seen.add(key)
        conn.execute(posts.update().where(posts.c.id == post_id).values(dedup_key=key))


def downgrade() -> None:
    op.drop_index("ix_posts_repeat_of", table_name="posts")
    op.drop_index("ix_posts_idempotency_key", table_name="posts")
    op.drop_index("ix_posts_dedup_key", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("repeat_similarity")
        batch.drop_column("repeat_of")
        batch.drop_column("idempotency_key")
        batch.drop_column("dedup_key")
