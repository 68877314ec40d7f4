"""Reads of the ledger for ops and finance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.schema import commissions, links, orders


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


async def commissions_of(engine: AsyncEngine, code: str) -> dict[str, Any]:
    """A distributor's commission by state, balance, recruits, and recent lines."""
    by_state = (
        select(commissions.c.state, func.count(), func.sum(commissions.c.amount_fen))
        .where(commissions.c.distributor == code)
        .group_by(commissions.c.state)
    )
    recent = (
        select(commissions)
        .where(commissions.c.distributor == code)
        .order_by(commissions.c.updated_at_ms.desc())
        .limit(50)
    )
    recruits = select(func.count()).select_from(links).where(links.c.upline == code)
    async with engine.connect() as conn:
        states = {row[0]: (int(row[1]), int(row[2] or 0)) for row in await conn.execute(by_state)}
        # keys as plain str: column names are a str subclass that orjson refuses
        lines = [{str(k): v for k, v in row._mapping.items()} for row in await conn.execute(recent)]
        recruited = int((await conn.execute(recruits)).scalar_one())
    totals = {
        state: {"lines": states.get(state, (0, 0))[0], "amount_fen": states.get(state, (0, 0))[1]}
        for state in ("pending", "frozen", "settled", "cancelled", "clawed_back")
    }
    return {
        "commissions": totals,
        "balance_fen": totals["settled"]["amount_fen"],
        "recruits": recruited,
        "lines": lines,
    }
