"""What fulfilment reads from the ledger: orders waiting for a warehouse, pick lists."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.schema import addresses, groups, orders


async def routable(
    engine: AsyncEngine, campaign_id: str, after: tuple[int, str] | None = None, limit: int = 500
) -> list[tuple[int, str]]:
    """Paid orders with an address that no warehouse has yet, oldest first, a page after
    `after` (the last one's updated time and id); a group's members only once it formed
    (route_order.lua checks all of it again)."""
    formed = select(groups.c.code).where(
        groups.c.campaign_id == campaign_id, groups.c.status == "formed"
    )
    query = (
        select(orders.c.updated_at_ms, orders.c.order_id)
        .where(
            orders.c.campaign_id == campaign_id,
            orders.c.status == "paid",
            orders.c.region_code.is_not(None),
            or_(orders.c.group_code.is_(None), orders.c.group_code.in_(formed)),
        )
        .order_by(orders.c.updated_at_ms, orders.c.order_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(orders.c.updated_at_ms, orders.c.order_id) > after)
    async with engine.connect() as conn:
        return [(row.updated_at_ms, row.order_id) for row in (await conn.execute(query)).all()]


async def pick_list(engine: AsyncEngine, campaign_id: str, warehouse: str) -> list[dict[str, Any]]:
    """The units a warehouse must pick and pack: its allocated orders, each with the part of
    the order it ships and the address (whole: the warehouse prints the label)."""
    query = (
        select(orders, addresses)
        .join(addresses, addresses.c.address_id == orders.c.address_id)
        .where(
            and_(
                orders.c.campaign_id == campaign_id,
                orders.c.status == "allocated",
                orders.c.route.is_not(None),
            )
        )
        .order_by(orders.c.updated_at_ms, orders.c.order_id)
    )
    lines: list[dict[str, Any]] = []
    async with engine.connect() as conn:
        for row in (await conn.execute(query)).all():
            found = row._mapping
            units = dict(orjson.loads(found["route"])).get(warehouse, 0)
            if units:
                lines.append({**found, "units": units})
    return lines


PAID_STATUSES = ("paid", "allocated", "shipped", "delivered", "completed")


async def paid_by_province(engine: AsyncEngine, campaign_id: str) -> list[dict[str, Any]]:
    """Paid orders and units by the province of their address (the first two digits of a
    GB/T 2260 code), for the big screen's map."""
    province = func.substr(orders.c.region_code, 1, 2)
    query = (
        select(province.label("p"), func.count().label("n"), func.sum(orders.c.qty).label("u"))
        .where(
            orders.c.campaign_id == campaign_id,
            orders.c.status.in_(PAID_STATUSES),
            orders.c.region_code.is_not(None),
        )
        .group_by(province)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [{"code": f"{r.p}0000", "orders": int(r.n), "units": int(r.u or 0)} for r in rows]
