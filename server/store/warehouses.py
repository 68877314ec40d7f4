"""Units per warehouse in Redis, and the two scripts that move them: init_warehouses and
route_order (release.lua gives a routed order's units back; fulfil.lua counts them out when
it ships)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from server.domain.buckets import split_warehouses
from server.domain.campaign import Campaign
from server.domain.routing import Route
from server.errors import Conflict
from server.store.keys import CampaignKeys, CampaignKeyspaces
from server.store.orders import Answer, answer_of
from server.store.scripts import Scripts
from server.store.stock import text


@dataclass(frozen=True)
class Level:
    """One warehouse's units: its stock, what is free to route, what has shipped. Routed
    but not shipped ("allocated") is what is left: stock - free - shipped."""

    stock: int
    free: int
    shipped: int

    @property
    def allocated(self) -> int:
        return self.stock - self.free - self.shipped


@dataclass(frozen=True)
class Levels:
    version: str  # the route_order script refuses a plan made at another version
    houses: dict[str, Level]

    def free(self) -> dict[str, int]:
        return {code: level.free for code, level in self.houses.items()}


def refusal(campaign: Campaign, code: str, detail: list[str]) -> Conflict:
    """Why the campaign's warehouses cannot be what it says, at the field to change."""
    houses = [h.code for h in campaign.fulfilment.warehouses] if campaign.fulfilment else []
    warehouse = detail[0]
    if code == "short":
        at = f"fulfilment.warehouses[{houses.index(warehouse)}].units"
        return Conflict(
            f"warehouse {warehouse} has {detail[1]} units routed or shipped: not fewer",
            at,
            "warehouse_committed",
        )
    return Conflict(
        f"warehouse {warehouse} has routed units: it cannot be left out",
        "fulfilment.warehouses",
        "warehouse_in_use",
    )


class WarehouseStore:
    """The warehouses' units, in a campaign with stock buckets split over its buckets like
    its stock (domain/buckets.py, split_warehouses): each bucket routes its orders from its
    own share, and a loan of stock units between buckets carries as many warehouse units."""

    def __init__(
        self, redis: Redis, scripts: Scripts, spaces: CampaignKeys | CampaignKeyspaces
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        if isinstance(spaces, CampaignKeys):
            spaces = CampaignKeyspaces((spaces,))
        self.spaces = spaces
        self.keys = spaces.home

    async def init(self, campaign: Campaign, totals: Sequence[int] = ()) -> None:
        """Make the warehouses' units what the campaign says (init_warehouses.lua); a
        change that would take away routed or shipped units is refused, naming the field.
        `totals`: each stock bucket's units, when there are several."""
        if campaign.fulfilment is None:
            return
        units = {house.code: house.units for house in campaign.fulfilment.warehouses}
        shares = split_warehouses(units, totals) if len(self.spaces) > 1 else [units]
        for keys, share in zip(self.spaces.buckets, shares, strict=True):
            args: list[str | int] = []
            for house, n in share.items():
                args += [house, n]
            reply = await self._scripts.init_warehouses(keys=[keys.warehouses], args=args)
            code, *rest = (text(part) for part in reply)
            if code != "set":
                raise refusal(campaign, code, rest)

    def check(self, campaign: Campaign, levels: Levels) -> None:
        """The same refusals, read before anything is installed."""
        wanted = (
            {h.code: h.units for h in campaign.fulfilment.warehouses} if campaign.fulfilment else {}
        )
        for code, level in levels.houses.items():
            if code in wanted and level.free + wanted[code] - level.stock < 0:
                raise refusal(campaign, "short", [code, str(level.stock - level.free)])
            if code not in wanted and level.free != level.stock:
                raise refusal(campaign, "in_use", [code])

    async def levels(self) -> Levels:
        """The campaign's warehouses: every bucket's units summed."""
        if len(self.spaces) == 1:
            return await self._levels(self.keys)
        each = [await self._levels(keys) for keys in self.spaces.buckets]
        houses: dict[str, Level] = {}
        for levels in each:
            for code, level in levels.houses.items():
                had = houses.get(code, Level(0, 0, 0))
                houses[code] = Level(
                    had.stock + level.stock, had.free + level.free, had.shipped + level.shipped
                )
        return Levels("|".join(levels.version for levels in each), houses)

    async def levels_of(self, order_id: str) -> Levels:
        """The units of the bucket that holds the order: what routes it."""
        return await self._levels(self.spaces.of_order(order_id))

    def locked_change(self, campaign: Campaign, levels: Levels) -> bool:
        """A campaign with stock buckets keeps its warehouses' units once it has orders
        (loans have moved units between the buckets' shares)."""
        houses = campaign.fulfilment.warehouses if campaign.fulfilment else []
        wanted = {house.code: house.units for house in houses}
        return {code: level.stock for code, level in levels.houses.items()} != wanted

    async def _levels(self, keys: CampaignKeys) -> Levels:
        flat = await self._redis.hgetall(keys.warehouses)
        fields = {text(k): text(v) for k, v in flat.items()}
        counts: dict[str, dict[str, int]] = {}
        for name, value in fields.items():
            code, dot, counter = name.rpartition(".")
            if dot:
                counts.setdefault(code, {})[counter] = int(value)
        houses = {
            code: Level(c.get("stock", 0), c.get("free", 0), c.get("shipped", 0))
            for code, c in counts.items()
        }
        return Levels(fields.get("version", "0"), houses)

    async def route(self, now_ms: int, order_id: str, version: str, route: Route) -> Answer:
        """Take the route's units for the order; version "" is an ops override."""
        k = self.spaces.of_order(order_id)
        args: list[str | int] = [now_ms, order_id, version]
        for code, units in route:
            args += [code, units]
        code, record = await self._scripts.route_order(
            keys=[k.orders, k.warehouses, k.stream, k.groups], args=args
        )
        return answer_of(code, record)
