"""An index for the repeat search: recent predictions of one topic in one kecamatan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_predictions_topic_kecamatan_created_at",
        "predictions",
        ["topic", "kecamatan", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_predictions_topic_kecamatan_created_at", table_name="predictions")
