"""What every outbox table shares (notices, refunds, payouts): rows waiting in an open state
until `next_try_ms`, claimed by one worker under a lease, taken back at once when that
worker starts again."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

LEASE_MS = 10 * 60_000  # a claimed row waits this long before another worker takes it


async def claim(
    engine: AsyncEngine,
    table: Table,
    key: Column[Any],
    open_states: Sequence[str],
    scope: ColumnElement[bool],
    worker: str,
    now_ms: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Open rows in scope whose time to (re)try has come, oldest first, claimed by this
    worker: another worker's claim of the same rows finds them leased (PostgreSQL re-checks
    an UPDATE's condition on a row another transaction just changed; SQLite has one
    writer)."""
    c = table.c
    due = c.state.in_(open_states) & (c.next_try_ms <= now_ms) & scope
    oldest = select(key).where(due).order_by(c.planned_at_ms, key).limit(limit)
    lease = now_ms + LEASE_MS
    async with engine.begin() as conn:
        await conn.execute(
            update(table)
            .where(due, key.in_(oldest.scalar_subquery()))
            .values(claimed_by=worker, next_try_ms=lease)
        )
    mine = select(table).where(
        c.claimed_by == worker, c.state.in_(open_states), c.next_try_ms == lease
    )
    async with engine.connect() as conn:
        found = [dict(row._mapping) for row in (await conn.execute(mine)).all()]
    return sorted(found, key=lambda row: (row["planned_at_ms"], row[key.name]))


async def release_claims(
    engine: AsyncEngine, table: Table, open_states: Sequence[str], worker: str, now_ms: int
) -> None:
    """A worker starting again takes back at once what it held when it stopped."""
    async with engine.begin() as conn:
        await conn.execute(
            update(table)
            .where(table.c.claimed_by == worker, table.c.state.in_(open_states))
            .values(next_try_ms=now_ms)
        )


async def finish(
    engine: AsyncEngine,
    table: Table,
    key: Column[Any],
    open_states: Sequence[str],
    answers: Iterable[Any],
) -> None:
    """Record each answer (a dataclass: the row's key and its new columns by name, `state`
    among them, and `at_ms`, when it closed); a row already closed (another worker's answer
    landed first) keeps its first answer."""
    async with engine.begin() as conn:
        for answer in answers:
            values = dataclasses.asdict(answer)
            row_key, at_ms = values.pop(key.name), values.pop("at_ms")
            closed = values["state"] not in open_states
            await conn.execute(
                update(table)
                .where(key == row_key, table.c.state.in_(open_states))
                .values(**values, tries=table.c.tries + 1, done_at_ms=at_ms if closed else None)
            )
