"""Payments at a provider that has not said a word about them yet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.schema import orders, payments

FOLLOW_AFTER_MS = 60_000  # a notification normally lands within seconds


@dataclass(frozen=True)
class Silent:
    payment_id: str
    provider: str
    stage: str
    amount_fen: int
    order_status: str  # as the ledger has it


def _silent_since(
    providers: Sequence[str], campaigns: Sequence[str], now_ms: int
) -> ColumnElement[bool]:
    return and_(
        payments.c.status == "pending",
        payments.c.provider.in_(providers),
        payments.c.opened_at_ms <= now_ms - FOLLOW_AFTER_MS,
        payments.c.campaign_id.in_(campaigns),
    )


async def silent_payments(
    engine: AsyncEngine,
    providers: Sequence[str],
    campaigns: Sequence[str],
    now_ms: int,
    limit: int,
) -> list[Silent]:
    """The oldest first: payments still pending a minute after they opened."""
    query = (
        select(
            payments.c.payment_id,
            payments.c.provider,
            payments.c.stage,
            payments.c.amount_fen,
            orders.c.status,
        )
        .join(orders, orders.c.order_id == payments.c.order_id)
        .where(_silent_since(providers, campaigns, now_ms))
        .order_by(payments.c.opened_at_ms)
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [Silent(*row) for row in (await conn.execute(query)).all()]


async def silent_count(
    engine: AsyncEngine, providers: Sequence[str], campaign_id: str, now_ms: int
) -> tuple[int, int]:
    """How many payments (and fen) wait for their provider's word: ops see the backlog."""
    query = select(func.count(), func.sum(payments.c.amount_fen)).where(
        *_silent_since(providers, [campaign_id], now_ms)
    )
    async with engine.connect() as conn:
        n, fen = (await conn.execute(query)).one()
    return int(n), int(fen or 0)
