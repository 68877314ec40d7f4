"""The material library: buyers' 晒单 and ops' posters and videos, and every share of one;
orders indexed by their last touch (a material's orders are counted by it).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_last_touch", "orders", ["last_touch"])
    op.create_table(
        "materials",
        sa.Column("material_id", sa.String(24), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(96)),
        sa.Column("title", sa.String(40), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("images", sa.Integer, nullable=False),
        sa.Column("video_url", sa.String(300)),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("reason", sa.String(200)),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at_ms", sa.BigInteger),
    )
    op.create_table(
        "material_shares",
        sa.Column("share_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("material_id", sa.String(24), nullable=False, index=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(24), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("material_shares")
    op.drop_table("materials")
    op.drop_index("ix_orders_last_touch", table_name="orders")
