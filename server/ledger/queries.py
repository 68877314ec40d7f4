"""Reads of the ledger for ops and finance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.commission import OWED
from server.ledger.schema import commissions, links, orders, payouts, withdrawals


@dataclass(frozen=True)
class OrderFilter:
    campaign_id: str | None = None
    status: str | None = None
    mode: str | None = None
    user_id: str | None = None
    ref: str | None = None  # the distributor's link the order came through
    group_code: str | None = None
    since_ms: int | None = None  # created at or after (campaign time)
    until_ms: int | None = None  # created before
    limit: int | None = 100  # None: every order that matches (a CSV export)
    offset: int = 0


async def list_orders(engine: AsyncEngine, wanted: OrderFilter) -> list[dict[str, Any]]:
    query = select(orders.c.snapshot).order_by(orders.c.created_at_ms.desc(), orders.c.order_id)
    for column, value in (
        (orders.c.campaign_id, wanted.campaign_id),
        (orders.c.status, wanted.status),
        (orders.c.mode, wanted.mode),
        (orders.c.user_id, wanted.user_id),
        (orders.c.ref, wanted.ref),
        (orders.c.group_code, wanted.group_code),
    ):
        if value is not None:
            query = query.where(column == value)
    if wanted.since_ms is not None:
        query = query.where(orders.c.created_at_ms >= wanted.since_ms)
    if wanted.until_ms is not None:
        query = query.where(orders.c.created_at_ms < wanted.until_ms)
    query = query.limit(wanted.limit).offset(wanted.offset)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [orjson.loads(row.snapshot) for row in rows]


async def commissions_of(
    engine: AsyncEngine, code: str, lines_limit: int | None = 50
) -> dict[str, Any]:
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
        .limit(lines_limit)
    )
    recruits = select(func.count()).select_from(links).where(links.c.upline == code)
    paid_out = select(func.coalesce(func.sum(payouts.c.amount_fen), 0)).where(
        payouts.c.distributor == code
    )
    requested = select(func.coalesce(func.sum(withdrawals.c.amount_fen), 0)).where(
        withdrawals.c.distributor == code, withdrawals.c.status == "requested"
    )
    async with engine.connect() as conn:
        states = {row[0]: (int(row[1]), int(row[2] or 0)) for row in await conn.execute(by_state)}
        # keys as plain str: column names are a str subclass that orjson refuses
        lines = [{str(k): v for k, v in row._mapping.items()} for row in await conn.execute(recent)]
        recruited = int((await conn.execute(recruits)).scalar_one())
        paid_out_fen = int((await conn.execute(paid_out)).scalar_one())
        requested_fen = int((await conn.execute(requested)).scalar_one())
    totals = {
        state: {"lines": states.get(state, (0, 0))[0], "amount_fen": states.get(state, (0, 0))[1]}
        for state in ("pending", "frozen", "settled", "cancelled", "clawed_back")
    }
    # Settled commission not yet paid out; negative after a clawback of money already paid
    # out: a debt that later settlements pay off first.
    balance = totals["settled"]["amount_fen"] - paid_out_fen
    return {
        "commissions": totals,
        "paid_out_fen": paid_out_fen,
        "balance_fen": balance,
        "debt_fen": max(0, -balance),
        "requested_fen": requested_fen,  # asked for in withdrawals not yet decided
        "withdrawable_fen": max(0, balance - requested_fen),
        "recruits": recruited,
        "lines": lines,
    }


async def finance_report(engine: AsyncEngine, campaign_id: str) -> dict[str, Any]:
    """Per distributor and in total: what was paid, refunded, owed in commission, kept."""
    money = select(
        func.count(), func.sum(orders.c.paid_fen), func.sum(orders.c.refunded_fen)
    ).where(orders.c.campaign_id == campaign_id)
    per_distributor = (
        select(
            commissions.c.distributor,
            commissions.c.state,
            func.count(),
            func.sum(commissions.c.base_fen),
            func.sum(commissions.c.amount_fen),
        )
        .where(commissions.c.campaign_id == campaign_id)
        .group_by(commissions.c.distributor, commissions.c.state)
        .order_by(commissions.c.distributor)
    )
    async with engine.connect() as conn:
        count, paid, refunded = (await conn.execute(money)).one()
        rows = (await conn.execute(per_distributor)).all()
    distributors: dict[str, dict[str, Any]] = {}
    for code, state, lines, base, amount in rows:
        entry = distributors.setdefault(code, {"distributor": code, "owed_fen": 0, "states": {}})
        entry["states"][state] = {
            "lines": int(lines),
            "base_fen": int(base or 0),
            "amount_fen": int(amount or 0),
        }
        if state in OWED:
            entry["owed_fen"] += int(amount or 0)
    owed = sum(d["owed_fen"] for d in distributors.values())
    kept = int(paid or 0) - int(refunded or 0)
    return {
        "campaign_id": campaign_id,
        "orders": int(count),
        "paid_fen": int(paid or 0),
        "refunded_fen": int(refunded or 0),
        "commission_fen": owed,
        "merchant_net_fen": kept - owed,
        "distributors": sorted(distributors.values(), key=lambda d: -d["owed_fen"]),
    }


async def downline_of(engine: AsyncEngine, code: str) -> list[dict[str, Any]]:
    """The distributors recruited under this one, newest first."""
    query = (
        select(links.c.code, links.c.user_id, links.c.status, links.c.created_at_ms)
        .where(links.c.upline == code)
        .order_by(links.c.created_at_ms.desc())
        .limit(200)
    )
    async with engine.connect() as conn:
        return [_plain(row._mapping) for row in await conn.execute(query)]


async def orders_via(engine: AsyncEngine, code: str, limit: int = 50) -> list[dict[str, Any]]:
    """Orders that earn this distributor commission (either level), newest first, with the
    line each one earns."""
    query = (
        select(
            commissions.c.order_id,
            commissions.c.level,
            commissions.c.amount_fen,
            commissions.c.state,
            orders.c.campaign_id,
            orders.c.mode,
            orders.c.qty,
            orders.c.status,
            orders.c.created_at_ms,
        )
        .join(orders, orders.c.order_id == commissions.c.order_id)
        .where(commissions.c.distributor == code)
        .order_by(orders.c.created_at_ms.desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [_plain(row._mapping) for row in await conn.execute(query)]


async def withdrawals_of(engine: AsyncEngine, code: str) -> list[dict[str, Any]]:
    query = (
        select(withdrawals)
        .where(withdrawals.c.distributor == code)
        .order_by(withdrawals.c.requested_at_ms.desc())
        .limit(50)
    )
    async with engine.connect() as conn:
        return [_plain(row._mapping) for row in await conn.execute(query)]


async def withdrawal(engine: AsyncEngine, withdrawal_id: str) -> dict[str, Any] | None:
    query = select(withdrawals).where(withdrawals.c.withdrawal_id == withdrawal_id)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else _plain(row._mapping)


def _plain(mapping: Any) -> dict[str, Any]:
    """A row as a dict with plain str keys (orjson refuses SQLAlchemy's key type)."""
    return {str(k): v for k, v in mapping.items() if k not in ("stream_ms", "stream_seq")}
