"""Responses: who answered a post, when, where, and the case status; overdue notices.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.String(32), sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("official_id", sa.String(200)),
        sa.Column("office", sa.String(200)),
        sa.Column("responded_at", UTCDateTime(), nullable=False),
        sa.Column("platform", sa.String(16)),
        sa.Column("url", sa.Text()),
        sa.Column("status", sa.String(16)),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_by_key_id", sa.Integer(), sa.ForeignKey("api_keys.id")),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_responses_post_id", "responses", ["post_id"])
    op.create_index("ix_responses_responded_at", "responses", ["responded_at"])
    # Plain ALTER TABLE ADD COLUMN (see 0003: no batch rebuild of `posts` on SQLite).
    op.add_column("posts", sa.Column("overdue_notified_at", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("overdue_notified_at")
    op.drop_index("ix_responses_responded_at", table_name="responses")
    op.drop_index("ix_responses_post_id", table_name="responses")
    op.drop_table("responses")
