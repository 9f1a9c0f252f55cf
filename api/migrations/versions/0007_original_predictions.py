"""The repeat search's index reads original posts only.

Each prediction now says whether its post is an original (no repeat of an earlier post), and
the repeat search's index leads with it after (topic, kecamatan). Before, the search read
through every prediction of a topic in a kecamatan over the window, repeats included, to find
the originals: when a post goes viral, hundreds of repeats of one complaint, and every later
post of that place and topic read all of them again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild of a table others point to), true for what was stored
    op.add_column(
        "predictions",
        sa.Column("original", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    predictions = sa.table(
        "predictions", sa.column("post_id", sa.String()), sa.column("original", sa.Boolean())
    )
    posts = sa.table("posts", sa.column("id", sa.String()), sa.column("repeat_of", sa.String()))
    repeats = sa.select(posts.c.id).where(posts.c.repeat_of.is_not(None))
    op.get_bind().execute(
        predictions.update().where(predictions.c.post_id.in_(repeats)).values(original=False)
    )
    op.drop_index("ix_predictions_topic_kecamatan_created_at", table_name="predictions")
    op.create_index(
        "ix_predictions_repeat_candidates",
        "predictions",
        ["topic", "kecamatan", "original", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_predictions_repeat_candidates", table_name="predictions")
    op.create_index(
        "ix_predictions_topic_kecamatan_created_at",
        "predictions",
        ["topic", "kecamatan", "created_at"],
    )
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("original")
