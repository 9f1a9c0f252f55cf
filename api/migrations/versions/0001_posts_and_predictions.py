"""Posts and their predictions (the schema before migrations existed).

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16)),
        sa.Column("external_id", sa.String(200)),
        sa.Column("author", sa.String(200)),
        sa.Column("url", sa.Text()),
        sa.Column("posted_at", UTCDateTime()),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_posts_external_id", "posts", ["external_id"])
    op.create_index("ix_posts_received_at", "posts", ["received_at"])
    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.String(32), sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.Column("kecamatan", sa.String(100)),
        sa.Column("kelurahan", sa.String(100)),
        sa.Column("area_confidence", sa.Float(), nullable=False),
        sa.Column("area_evidence", sa.Text()),
        sa.Column("area_ambiguous", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("review_reasons", sa.JSON(), nullable=False),
        sa.Column("respond_by", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_predictions_post_id", "predictions", ["post_id"])
    op.create_index("ix_predictions_topic", "predictions", ["topic"])
    op.create_index("ix_predictions_kecamatan", "predictions", ["kecamatan"])
    op.create_index("ix_predictions_needs_review", "predictions", ["needs_review"])


def downgrade() -> None:
    op.drop_table("predictions")
    op.drop_table("posts")
