"""Reads of the ledger for ops and finance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.schema import orders


@dataclass(frozen=True)
class OrderFilter:
    campaign_id: str | None = None
    status: str | None = None
    mode: str | None = None
    user_id: str | None = None
    limit: int = 100
    offset: int = 0


async def list_orders(engine: AsyncEngine, wanted: OrderFilter) -> list[dict[str, Any]]:
    query = select(orders.c.snapshot).order_by(orders.c.created_at_ms.desc(), orders.c.order_id)
    for column, value in (
        (orders.c.campaign_id, wanted.campaign_id),
        (orders.c.status, wanted.status),
        (orders.c.mode, wanted.mode),
        (orders.c.user_id, wanted.user_id),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.limit(wanted.limit).offset(wanted.offset)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [orjson.loads(row.snapshot) for row in rows]
