"""Shipping: the carrier and tracking number an order ships with, and every logistics event.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("carrier", sa.String(8)))
        batch.add_column(sa.Column("tracking_no", sa.String(32)))
    op.create_table(
        "shipment_events",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("stream_id", sa.String(40), primary_key=True),
        sa.Column("order_id", sa.String(96), nullable=False, index=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("shipment_events")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tracking_no")
        batch.drop_column("carrier")
