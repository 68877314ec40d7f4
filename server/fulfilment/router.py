"""The router: each paid order with an address goes to the warehouses domain/routing.py
picks, through route_order.lua. Run by the worker; two workers routing at once cannot both
take an order (the script moves it out of "paid"), and a plan made from numbers another
routing has since changed is refused as stale and made again. An order the warehouses cannot
cover waits without holding back the ones behind it, and is planned again only once their
units change."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.campaign import Campaign
from server.domain.routing import Depot, Serves, plan_route
from server.ledger.fulfilment_queries import routable
from server.runtime import LiveCampaign, Runtime
from server.store.buckets import BucketedStock
from server.store.orders import Answer
from server.store.stock import StockStore
from server.store.warehouses import WarehouseStore

log = logging.getLogger("liveroom.router")

STALE_RETRIES = 8
PAGE = 500


@dataclass(frozen=True)
class Short:
    """The warehouses could not cover the order at this version of their units."""

    version: str


def depots(campaign: Campaign) -> list[Depot]:
    houses = campaign.fulfilment.warehouses if campaign.fulfilment else []
    return [Depot(h.code, tuple(Serves(s.region, s.priority) for s in h.serves)) for h in houses]


async def route_one(
    campaign: Campaign,
    stock: BucketedStock | StockStore,
    warehouses: WarehouseStore,
    now_ms: int,
    order_id: str,
) -> Answer | Short | None:
    """Route one order by the campaign's strategy; Short when the warehouses cannot cover it
    (it waits), None when it is not the router's to route (not paid, no address, a group
    still open)."""
    fulfilment = campaign.fulfilment
    if fulfilment is None:
        return None
    houses = depots(campaign)
    for _ in range(STALE_RETRIES):
        order = await stock.order(order_id)
        if order is None or order.get("status") != "paid" or not order.get("region"):
            return None
        levels = await warehouses.levels_of(order_id)  # its stock bucket's share
        plan = plan_route(houses, levels.free(), order["region"], order["qty"], fulfilment.strategy)
        if plan is None:
            log.debug("%s: warehouses short for %s", campaign.id, order_id)
            return Short((await warehouses.levels()).version)
        answer = await warehouses.route(now_ms, order_id, levels.version, plan)
        if answer.code != "stale":
            return answer if answer.code == "routed" else None
    return None


class Router:
    """The worker's routing loop, with what it must not plan again yet."""

    def __init__(self, runtime: Runtime, engine: AsyncEngine) -> None:
        self._runtime = runtime
        self._engine = engine
        self._short: dict[str, str] = {}  # order id -> the warehouses' version it was short at

    async def route_due(self) -> int:
        """Route every order the ledger shows waiting; how many were routed."""
        routed = 0
        for live in list(self._runtime.campaigns.values()):
            if live.campaign.fulfilment is not None:
                routed += await self._route_campaign(live)
        return routed

    async def _route_campaign(self, live: LiveCampaign) -> int:
        routed, seen, after = 0, set(), None
        version = (await live.warehouses.levels()).version
        while page := await routable(self._engine, live.campaign.id, after, PAGE):
            after = page[-1]
            for _, order_id in page:
                seen.add(order_id)
                if self._short.get(order_id) == version:
                    continue  # nothing has changed in the warehouses since it was short
                now = self._runtime.clock.now_ms()
                found = await route_one(live.campaign, live.stock, live.warehouses, now, order_id)
                if isinstance(found, Short):
                    self._short[order_id] = found.version
                elif found is not None:
                    routed += 1
            if len(page) < PAGE:
                break
        for gone in [o for o in self._short if o.startswith(live.campaign.id) and o not in seen]:
            del self._short[gone]
        return routed
