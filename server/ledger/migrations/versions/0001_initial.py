"""The first ledger: orders, their events, payments, refunds, pool moves, groups.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_MS = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(96), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.String(64), nullable=False, index=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("pool", sa.String(64), nullable=False),
        sa.Column("held", sa.String(16), nullable=False),
        sa.Column("alloc", sa.Text, nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_due_fen", sa.BigInteger, nullable=False),
        sa.Column("paid_fen", sa.BigInteger, nullable=False),
        sa.Column("refunded_fen", sa.BigInteger, nullable=False),
        sa.Column("group_code", sa.String(16)),
        sa.Column("ref", sa.String(64)),
        sa.Column("warehouse", sa.String(64)),
        sa.Column("created_at_ms", _MS, nullable=False),
        sa.Column("updated_at_ms", _MS, nullable=False),
        sa.Column("stream_ms", _MS, nullable=False),
        sa.Column("stream_seq", _MS, nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),
    )
    op.create_table(
        "order_events",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("stream_id", sa.String(40), primary_key=True),
        sa.Column("order_id", sa.String(96), index=True),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("status", sa.String(24)),
        sa.Column("at_ms", _MS, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(96), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(96), nullable=False, index=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at_ms", _MS, nullable=False),
        sa.Column("settled_at_ms", _MS),
        sa.Column("stream_ms", _MS, nullable=False),
        sa.Column("stream_seq", _MS, nullable=False),
    )
    op.create_table(
        "refunds",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("stream_id", sa.String(40), primary_key=True),
        sa.Column("order_id", sa.String(96), nullable=False, index=True),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("at_ms", _MS, nullable=False),
    )
    op.create_table(
        "pool_moves",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("stream_id", sa.String(40), primary_key=True),
        sa.Column("pool", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("at_ms", _MS, nullable=False),
    )
    op.create_table(
        "groups",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("leader", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("paid", sa.Integer, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("opened_at_ms", _MS, nullable=False),
        sa.Column("closed_at_ms", _MS),
        sa.Column("snapshot", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("groups", "pool_moves", "refunds", "payments", "order_events", "orders"):
        op.drop_table(table)
