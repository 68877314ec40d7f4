"""Ops on fulfilment: the warehouses' state, an order's route overridden, pick lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.domain.addresses import shown
from server.domain.routing import Route
from server.errors import BadInput, Conflict, NotFound
from server.gateway.context import Gateway
from server.ledger.fulfilment_queries import pick_list
from server.ledger.schema import orders
from server.ops.audit import Actor
from server.runtime import LiveCampaign
from server.store.warehouses import Level


async def warehouses(gw: Gateway, campaign_id: str) -> dict[str, Any]:
    """Each warehouse's units (stock = free + allocated + shipped), and how many paid
    orders wait for their buyer's address."""
    live = gw.runtime.live(campaign_id)
    fulfilment = live.campaign.fulfilment
    if fulfilment is None:
        raise NotFound("this campaign has no warehouses", "campaign_id", "no_warehouses")
    rows = await loads(live)
    waiting = select(func.count()).where(
        orders.c.campaign_id == campaign_id,
        orders.c.status == "paid",
        orders.c.region_code.is_(None),
    )
    async with gw.ledger.connect() as conn:
        awaiting = int(await conn.scalar(waiting) or 0)
    return {
        "campaign_id": campaign_id,
        "strategy": fulfilment.strategy,
        "warehouses": rows,
        "awaiting_address": awaiting,
    }


async def loads(live: LiveCampaign) -> list[dict[str, Any]]:
    """Each configured warehouse with its units now (stock = free + allocated + shipped)."""
    fulfilment = live.campaign.fulfilment
    levels = await live.warehouses.levels()
    rows = []
    for house in fulfilment.warehouses if fulfilment else []:
        level = levels.houses.get(house.code) or Level(0, 0, 0)
        rows.append(
            {
                "code": house.code,
                "name": house.name,
                "kind": house.kind,
                "location": house.location,
                "stock": level.stock,
                "free": level.free,
                "allocated": level.allocated,
                "shipped": level.shipped,
            }
        )
    return rows


async def override_route(gw: Gateway, actor: Actor, order_id: str, route: Route) -> dict[str, Any]:
    """Ship an order from the warehouses ops name (a paid or an allocated order)."""
    live = gw.runtime.live_for_order(order_id)
    _check_codes(live, route)
    order = await live.stock.order(order_id)
    if order is None:
        raise NotFound("no such order", "order_id")
    answer = await live.warehouses.route(gw.runtime.clock.now_ms(), order_id, "", route)
    refusals = {
        "not_found": "no such order",
        "not_allowed": "only a paid or allocated order, and the units must add up to it",
        "no_address": "the buyer has not chosen an address yet",
        "group_open": "the order's group has not formed yet",
        "short": "a warehouse named does not have the units free",
    }
    if answer.code != "routed" or answer.record is None:
        raise Conflict(refusals.get(answer.code, answer.code), "route", f"route_{answer.code}")
    await gw.audit.record(
        actor,
        "order.route",
        order_id,
        {"status": order["status"], "route": order.get("route")},
        {"status": answer.record["status"], "route": answer.record["route"]},
    )
    return answer.record


def _check_codes(live: LiveCampaign, route: Route) -> None:
    fulfilment = live.campaign.fulfilment
    if fulfilment is None:
        raise Conflict("this campaign has no warehouses", "route", "no_warehouses")
    known = {h.code for h in fulfilment.warehouses}
    for i, (code, _) in enumerate(route):
        if code not in known:
            raise BadInput(f"no warehouse {code!r}", f"route[{i}].warehouse", "no_warehouse")


async def pick_lines(
    gw: Gateway, campaign_id: str, warehouse: str, whole: bool
) -> list[dict[str, Any]]:
    """A warehouse's pick list; addresses whole only for a role that needs them."""
    live = gw.runtime.live(campaign_id)
    fulfilment = live.campaign.fulfilment
    if fulfilment is None or warehouse not in {h.code for h in fulfilment.warehouses}:
        raise NotFound(f"no warehouse {warehouse!r}", "warehouse", "no_warehouse")
    lines = await pick_list(gw.ledger, campaign_id, warehouse)
    return [{**line, "address": shown(line, whole)} for line in lines]
