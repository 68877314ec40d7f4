"""Alembic's environment: always run with the connection server/ledger/migrate.py hands in."""

from __future__ import annotations

from alembic import context

from server.ledger.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
