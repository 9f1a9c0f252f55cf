"""The repeat search's vectors of original complaints, kept beside the posts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repeat_vectors",
        sa.Column("post_id", sa.String(32), sa.ForeignKey("posts.id"), primary_key=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_repeat_vectors_created_at", "repeat_vectors", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_repeat_vectors_created_at", table_name="repeat_vectors")
    op.drop_table("repeat_vectors")
