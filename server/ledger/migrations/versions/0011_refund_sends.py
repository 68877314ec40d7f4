"""Refunds sent to the payment provider: the outbox of booked refunds, one row a payment part;
payments remember their provider.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "payments",
        sa.Column("provider", sa.String(16), nullable=False, server_default="sandbox"),
    )
    op.create_table(
        "refund_sends",
        sa.Column("refund_id", sa.String(64), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("stream_id", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(96), nullable=False),
        sa.Column("payment_id", sa.String(96), nullable=False, index=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("payment_fen", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("detail", sa.String(200)),
        sa.Column("provider_ref", sa.String(64)),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("planned_at_ms", sa.BigInteger, nullable=False),
        sa.Column("next_try_ms", sa.BigInteger, nullable=False),
        sa.Column("done_at_ms", sa.BigInteger),
    )
    op.create_index("ix_refund_sends_booked", "refund_sends", ["campaign_id", "stream_id"])
    op.create_index("ix_refund_sends_due", "refund_sends", ["state", "next_try_ms"])


def downgrade() -> None:
    op.drop_table("refund_sends")
    op.drop_column("payments", "provider")
