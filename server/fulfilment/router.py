"""The router: each paid order with an address goes to the warehouses domain/routing.py
picks, through route_order.lua. Run by the worker; two workers routing at once cannot both
take an order (the script moves it out of "paid"), and a plan made from numbers another
routing has since changed is refused as stale and made again."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.campaign import Campaign
from server.domain.routing import Depot, Serves, plan_route
from server.ledger.fulfilment_queries import routable
from server.runtime import Runtime
from server.store.orders import Answer
from server.store.stock import StockStore
from server.store.warehouses import WarehouseStore

log = logging.getLogger("liveroom.router")

STALE_RETRIES = 8


def depots(campaign: Campaign) -> list[Depot]:
    houses = campaign.fulfilment.warehouses if campaign.fulfilment else []
    return [Depot(h.code, tuple(Serves(s.region, s.priority) for s in h.serves)) for h in houses]


async def route_one(
    campaign: Campaign, stock: StockStore, warehouses: WarehouseStore, now_ms: int, order_id: str
) -> Answer | None:
    """Route one order by the campaign's strategy; None when it cannot be (not paid, no
    address, group still open, or the warehouses are short: it waits)."""
    fulfilment = campaign.fulfilment
    if fulfilment is None:
        return None
    houses = depots(campaign)
    for _ in range(STALE_RETRIES):
        order = await stock.order(order_id)
        if order is None or order.get("status") != "paid" or not order.get("region"):
            return None
        levels = await warehouses.levels()
        plan = plan_route(houses, levels.free(), order["region"], order["qty"], fulfilment.strategy)
        if plan is None:
            log.debug("%s: warehouses short for %s", campaign.id, order_id)
            return None
        answer = await warehouses.route(now_ms, order_id, levels.version, plan)
        if answer.code != "stale":
            return answer if answer.code == "routed" else None
    return None


async def route_due(runtime: Runtime, engine: AsyncEngine) -> int:
    """Route every order the ledger shows waiting; how many were routed."""
    routed = 0
    for live in list(runtime.campaigns.values()):
        if live.campaign.fulfilment is None:
            continue
        for order_id in await routable(engine, live.campaign.id):
            now = runtime.clock.now_ms()
            found = await route_one(live.campaign, live.stock, live.warehouses, now, order_id)
            if found is not None:
                routed += 1
    return routed
