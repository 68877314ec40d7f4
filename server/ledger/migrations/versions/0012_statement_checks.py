"""Provider statements checked against the ledger.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statement_checks",
        sa.Column("check_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("bill_date", sa.String(10), nullable=False),
        sa.Column("checked_at_ms", sa.BigInteger, nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("matched", sa.Integer, nullable=False),
        sa.Column("paid_fen", sa.BigInteger, nullable=False),
        sa.Column("refunded_fen", sa.BigInteger, nullable=False),
        sa.Column("fees_fen", sa.BigInteger, nullable=False),
        sa.Column("problems", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("statement_checks")
