"""Payouts through the payment provider: distributors' payees, the transfer outbox, the
schedule ops set; a payout row may return a refused transfer.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payouts", sa.Column("returns", sa.String(40)))
    op.create_table(
        "payees",
        sa.Column("distributor", sa.String(16), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("name", sa.String(30), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("since_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "payout_sends",
        sa.Column("payout_id", sa.String(40), primary_key=True),
        sa.Column("distributor", sa.String(16), nullable=False, index=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("name", sa.String(30), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("detail", sa.String(200)),
        sa.Column("provider_ref", sa.String(64)),
        sa.Column("confirm", sa.Text),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("planned_at_ms", sa.BigInteger, nullable=False),
        sa.Column("next_try_ms", sa.BigInteger, nullable=False),
        sa.Column("done_at_ms", sa.BigInteger),
    )
    op.create_index("ix_payout_sends_due", "payout_sends", ["state", "next_try_ms"])
    op.create_table(
        "payout_schedule",
        sa.Column("schedule_id", sa.Integer, primary_key=True),
        sa.Column("on", sa.Boolean, nullable=False),
        sa.Column("weekday", sa.Integer, nullable=False),
        sa.Column("at", sa.String(5), nullable=False),
        sa.Column("minimum_fen", sa.BigInteger, nullable=False),
        sa.Column("last_slot", sa.String(10)),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payout_schedule")
    op.drop_table("payout_sends")
    op.drop_table("payees")
    op.drop_column("payouts", "returns")
