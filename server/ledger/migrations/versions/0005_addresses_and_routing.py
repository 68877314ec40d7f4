"""Fulfilment: viewers' address books, and each order's delivery address, region and route
(the warehouses its units ship from).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "addresses",
        sa.Column("address_id", sa.String(24), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False, index=True),
        sa.Column("recipient", sa.String(40), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("region_label", sa.String(60), nullable=False),
        sa.Column("street", sa.String(240), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("retired_at_ms", sa.BigInteger),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("address_id", sa.String(24)))
        batch.add_column(sa.Column("region_code", sa.String(6)))
        batch.add_column(sa.Column("route", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("route")
        batch.drop_column("region_code")
        batch.drop_column("address_id")
    op.drop_table("addresses")
