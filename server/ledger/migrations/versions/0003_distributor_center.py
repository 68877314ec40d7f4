"""The distributor center: the campaign a distributor was recruited for, withdrawal requests
and the payouts that settle them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("links") as links:
        links.add_column(sa.Column("campaign_id", sa.String(64)))
    with op.batch_alter_table("payouts") as payouts:
        payouts.add_column(sa.Column("withdrawal_id", sa.String(32)))
    op.create_table(
        "withdrawals",
        sa.Column("withdrawal_id", sa.String(32), primary_key=True),
        sa.Column("distributor", sa.String(16), nullable=False, index=True),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("requested_at_ms", sa.BigInteger, nullable=False),
        sa.Column("decided_at_ms", sa.BigInteger),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("reason", sa.String(200)),
        sa.Column("stream_ms", sa.BigInteger, nullable=False),
        sa.Column("stream_seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("withdrawals")
    with op.batch_alter_table("payouts") as payouts:
        payouts.drop_column("withdrawal_id")
    with op.batch_alter_table("links") as links:
        links.drop_column("campaign_id")
