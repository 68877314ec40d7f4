"""The user pool and distribution: member tiers, share links, commission lines, payouts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("member_tier", sa.String(64)),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "links",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), index=True),
        sa.Column("upline", sa.String(16)),
        sa.Column("name", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "commissions",
        sa.Column("order_id", sa.String(96), primary_key=True),
        sa.Column("level", sa.Integer, primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("distributor", sa.String(16), nullable=False, index=True),
        sa.Column("base_fen", sa.BigInteger, nullable=False),
        sa.Column("rate_bp", sa.Integer, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "payouts",
        sa.Column("stream_id", sa.String(40), primary_key=True),
        sa.Column("distributor", sa.String(16), nullable=False, index=True),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("payouts", "commissions", "links", "users"):
        op.drop_table(table)
