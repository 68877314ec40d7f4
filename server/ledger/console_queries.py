"""Reads of the ledger for the ops console: an order's whole story, the finance report's
breakdowns (by day, by mode) and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.schema import (
    audit_log,
    commissions,
    links,
    order_events,
    orders,
    payments,
    refunds,
    withdrawals,
)

DAY_MS = 86_400_000
# a payment that took money: kept, or taken and returned at once (counted out as a refund)
MONEY_IN = ("succeeded", "refunded")


@dataclass(frozen=True)
class OrderStory:
    order: dict[str, Any] | None
    events: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    commissions: list[dict[str, Any]]


async def order_story(engine: AsyncEngine, order_id: str) -> OrderStory:
    """Everything the ledger holds about one order, oldest first."""
    async with engine.connect() as conn:
        snapshot = (
            await conn.execute(select(orders.c.snapshot).where(orders.c.order_id == order_id))
        ).scalar_one_or_none()
        events = await conn.execute(
            select(order_events.c.type, order_events.c.status, order_events.c.at_ms)
            .where(order_events.c.order_id == order_id)
            .order_by(order_events.c.at_ms, order_events.c.stream_id)
        )
        paid = await conn.execute(
            select(payments)
            .where(payments.c.order_id == order_id)
            .order_by(payments.c.opened_at_ms)
        )
        back = await conn.execute(
            select(refunds).where(refunds.c.order_id == order_id).order_by(refunds.c.at_ms)
        )
        lines = await conn.execute(
            select(commissions)
            .where(commissions.c.order_id == order_id)
            .order_by(commissions.c.level)
        )
        return OrderStory(
            order=orjson.loads(snapshot) if snapshot else None,
            events=[_plain(r._mapping) for r in events],
            payments=[_plain(r._mapping) for r in paid],
            refunds=[_plain(r._mapping) for r in back],
            commissions=[_plain(r._mapping) for r in lines],
        )


async def money_by_mode(engine: AsyncEngine, campaign_id: str) -> list[dict[str, Any]]:
    """Per mode: orders, units, paid, refunded (the report's totals split by mode)."""
    query = (
        select(
            orders.c.mode,
            func.count(),
            func.sum(orders.c.qty),
            func.sum(orders.c.paid_fen),
            func.sum(orders.c.refunded_fen),
        )
        .where(orders.c.campaign_id == campaign_id)
        .group_by(orders.c.mode)
        .order_by(orders.c.mode)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            "mode": mode,
            "orders": int(count),
            "units": int(units or 0),
            "paid_fen": int(paid or 0),
            "refunded_fen": int(back or 0),
        }
        for mode, count, units, paid, back in rows
    ]


async def money_by_day(
    engine: AsyncEngine, campaign_id: str, utc_offset_ms: int
) -> list[dict[str, Any]]:
    """Per local day: money in (settled payments) and out (refunds). The day is counted in
    the campaign's zone at a fixed offset (a campaign lasts days, not across a DST change)."""
    paid_day = (payments.c.settled_at_ms + utc_offset_ms) // DAY_MS
    refund_day = (refunds.c.at_ms + utc_offset_ms) // DAY_MS
    paid_q = (
        select(paid_day, func.sum(payments.c.amount_fen))
        .where(payments.c.campaign_id == campaign_id, payments.c.status.in_(MONEY_IN))
        .group_by(paid_day)
    )
    refund_q = (
        select(refund_day, func.sum(refunds.c.amount_fen))
        .where(refunds.c.campaign_id == campaign_id)
        .group_by(refund_day)
    )
    async with engine.connect() as conn:
        paid = {int(d): int(v or 0) for d, v in await conn.execute(paid_q)}
        back = {int(d): int(v or 0) for d, v in await conn.execute(refund_q)}
    return [
        {
            "day_ms": day * DAY_MS - utc_offset_ms,
            "paid_fen": paid.get(day, 0),
            "refunded_fen": back.get(day, 0),
        }
        for day in sorted(paid.keys() | back.keys())
    ]


async def trend(
    engine: AsyncEngine, campaign_id: str, start_ms: int, bucket_ms: int, buckets: int
) -> list[dict[str, int]]:
    """The broadcast in `buckets` equal slices of campaign time from `start_ms`: orders
    placed and money paid in each (the big screen's whole-broadcast trend)."""
    placed = (orders.c.created_at_ms - start_ms) // bucket_ms
    paid = (payments.c.settled_at_ms - start_ms) // bucket_ms
    order_q = (
        select(placed, func.count())
        .where(orders.c.campaign_id == campaign_id, orders.c.created_at_ms >= start_ms)
        .group_by(placed)
    )
    money_q = (
        select(paid, func.sum(payments.c.amount_fen))
        .where(
            payments.c.campaign_id == campaign_id,
            payments.c.status.in_(MONEY_IN),
            payments.c.settled_at_ms >= start_ms,
        )
        .group_by(paid)
    )
    async with engine.connect() as conn:
        counts = {int(b): int(n) for b, n in await conn.execute(order_q)}
        money = {int(b): int(v or 0) for b, v in await conn.execute(money_q)}
    return [
        {"at_ms": start_ms + i * bucket_ms, "orders": counts.get(i, 0), "paid_fen": money.get(i, 0)}
        for i in range(buckets)
    ]


async def audit_entries(
    engine: AsyncEngine, actor: str | None, action: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.at_ms.desc(), audit_log.c.stream_id.desc())
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action.startswith(action))
    async with engine.connect() as conn:
        rows = await conn.execute(query.limit(limit).offset(offset))
        return [_plain(r._mapping) for r in rows]


async def distributors(
    engine: AsyncEngine,
    status: str | None,
    limit: int = 200,
    offset: int = 0,
    starting: str | None = None,
) -> list[dict[str, Any]]:
    """Distributors newest first (the approval queue: status "pending"), with what each has
    earned that is still owed; `starting`: only those whose code or user id starts so."""
    owed = (
        select(commissions.c.distributor, func.sum(commissions.c.amount_fen).label("owed_fen"))
        .where(commissions.c.state.in_(("pending", "frozen", "settled")))
        .group_by(commissions.c.distributor)
        .subquery()
    )
    query = (
        # cast: PostgreSQL sums bigints as numeric, which the page's money format refuses
        select(links, cast(func.coalesce(owed.c.owed_fen, 0), BigInteger).label("owed_fen"))
        .outerjoin(owed, owed.c.distributor == links.c.code)
        .where(links.c.kind == "distributor")
        .order_by(links.c.created_at_ms.desc(), links.c.code)
        .limit(limit)
        .offset(offset)
    )
    if status:
        query = query.where(links.c.status == status)
    if starting:
        query = query.where(
            links.c.code.startswith(starting, autoescape=True)
            | links.c.user_id.startswith(starting, autoescape=True)
        )
    async with engine.connect() as conn:
        return [_plain(r._mapping) for r in await conn.execute(query)]


async def requested_withdrawals(engine: AsyncEngine, limit: int = 200) -> list[dict[str, Any]]:
    """Withdrawals waiting for a decision, oldest first (first asked, first paid)."""
    query = (
        select(withdrawals)
        .where(withdrawals.c.status == "requested")
        .order_by(withdrawals.c.requested_at_ms)
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [_plain(r._mapping) for r in await conn.execute(query)]


def _plain(mapping: Any) -> dict[str, Any]:
    return {str(k): v for k, v in mapping.items() if k not in ("stream_ms", "stream_seq")}
