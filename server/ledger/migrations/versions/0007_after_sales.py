"""After-sale requests: what a buyer asked for on a delivered order, and what ops decided.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "after_sales",
        sa.Column("request_id", sa.String(24), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False, index=True),
        sa.Column("order_id", sa.String(96), nullable=False, index=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("text", sa.String(400), nullable=False),
        sa.Column("photos", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("refund_fen", sa.BigInteger, nullable=False),
        sa.Column("refund_units", sa.Integer, nullable=False),
        sa.Column("restock_units", sa.Integer, nullable=False),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decision_reason", sa.String(200)),
        sa.Column("opened_at_ms", sa.BigInteger, nullable=False),
        sa.Column("decided_at_ms", sa.BigInteger),
    )


def downgrade() -> None:
    op.drop_table("after_sales")
