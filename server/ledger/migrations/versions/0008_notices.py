"""Notices to viewers (the notifier's outbox) and each viewer's notice preferences.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("notice_key", sa.String(160), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("text", sa.String(400), nullable=False),
        sa.Column("planned_at_ms", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("reason", sa.String(200)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_try_ms", sa.BigInteger, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("done_at_ms", sa.BigInteger),
    )
    op.create_table(
        "notice_prefs",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("promotions", sa.Boolean, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notice_prefs")
    op.drop_table("notices")
