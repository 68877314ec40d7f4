"""Tracked share links: every counted view and click, and each order's first and last touch.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("first_touch", sa.String(40)))
        batch.add_column(sa.Column("last_touch", sa.String(40)))
    op.create_table(
        "link_visits",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("stream_id", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False, index=True),
        sa.Column("user_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("link_visits")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("last_touch")
        batch.drop_column("first_touch")
