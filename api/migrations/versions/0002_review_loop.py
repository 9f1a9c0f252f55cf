"""People in the loop: API keys, reviews, model versions, retrain jobs, prediction margin.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("margin", sa.Float()))
    _backfill_margin()

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.String(32), sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("reviewer_key_id", sa.Integer(), sa.ForeignKey("api_keys.id")),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("before_topic", sa.String(64)),
        sa.Column("before_kecamatan", sa.String(100)),
        sa.Column("before_kelurahan", sa.String(100)),
        sa.Column("before_tags", sa.JSON(), nullable=False),
        sa.Column("after_topic", sa.String(64)),
        sa.Column("after_kecamatan", sa.String(100)),
        sa.Column("after_kelurahan", sa.String(100)),
        sa.Column("after_tags", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_reviews_post_id", "reviews", ["post_id"])
    op.create_index("ix_reviews_created_at", "reviews", ["created_at"])
    op.create_table(
        "model_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("promoted_at", UTCDateTime()),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_model_versions_one_active",
        "model_versions",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "retrain_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("report", sa.JSON()),
        sa.Column("error", sa.Text()),
    )


def _backfill_margin() -> None:
    """Top-1 minus top-2 probability for predictions stored before the column existed."""
    predictions = sa.table(
        "predictions",
        sa.column("id", sa.Integer()),
        sa.column("confidence", sa.Float()),
        sa.column("alternatives", sa.JSON()),
        sa.column("margin", sa.Float()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(predictions.c.id, predictions.c.confidence, predictions.c.alternatives)
    ).all()
    for row_id, confidence, alternatives in rows:
        second = float(alternatives[0]["confidence"]) if alternatives else 0.0
        conn.execute(
            predictions.update()
            .where(predictions.c.id == row_id)
            .values(margin=float(confidence) - second)
        )


def downgrade() -> None:
    op.drop_table("retrain_jobs")
    op.drop_index("ix_model_versions_one_active", table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_table("reviews")
    op.drop_table("api_keys")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("margin")
