"""The repeat search's query read from its indexes alone.

Each transaction of `POST /classify` reads the open original posts of every (topic, kecamatan)
its complaints name, up to 200 a pair. For each candidate the query looked up its prediction's
row (for the post id) and sorted the post's answers to find the latest status, even when it had
none. The candidates' index now holds the post id, and the answers have an index on (post id,
time, id) that gives a post's latest answer without a sort: on SQLite the query for 8 pairs of
922 candidates went from 9.0 to 2.7 ms (bench/README.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_predictions_repeat_candidates", table_name="predictions")
    op.create_index(
        "ix_predictions_repeat_candidates",
        "predictions",
        ["topic", "kecamatan", "original", "created_at", "post_id"],
    )
    # the composite index serves every lookup by post id that the one-column index did
    op.drop_index("ix_responses_post_id", table_name="responses")
    op.create_index("ix_responses_post_latest", "responses", ["post_id", "responded_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_responses_post_latest", table_name="responses")
    op.create_index("ix_responses_post_id", "responses", ["post_id"])
    op.drop_index("ix_predictions_repeat_candidates", table_name="predictions")
    op.create_index(
        "ix_predictions_repeat_candidates",
        "predictions",
        ["topic", "kecamatan", "original", "created_at"],
    )
