"""Which warehouses ship an order: pure rules, no I/O (the router reads the free units and
the route_order script takes them atomically, refusing a plan made from stale numbers).

A warehouse serves regions, each with a priority (1 best). For a buyer's region the
warehouses are ranked by a strategy:
  - "region_priority": the best priority among the regions it serves that contain the
    buyer's; warehouses that do not serve the region come last (still eligible: an order is
    never stuck because nobody claimed a district);
  - "most_stock": the most free units first (Saleor's "prioritize high stock"), region
    priority breaking ties.
Ties fall back to the order of the configuration. The first warehouse in that ranking that
holds all the units ships them; only when none does is the order split, greedily down the
ranking. An order the warehouses together cannot cover gets no plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Strategy = Literal["region_priority", "most_stock"]
STRATEGIES: tuple[Strategy, ...] = ("region_priority", "most_stock")
UNSERVED = 1_000_000  # ranks after every configured priority

Route = list[tuple[str, int]]  # (warehouse code, units), in shipping order


@dataclass(frozen=True)
class Serves:
    region: str  # a GB/T 2260 code: a province, a city or a district
    priority: int


@dataclass(frozen=True)
class Depot:
    """What routing needs of a warehouse: its code and the regions it serves."""

    code: str
    serves: tuple[Serves, ...]


def covers(area: str, region: str) -> bool:
    """Whether the division `area` contains the division `region` (codes by their levels:
    "310000" holds every "31xxxx", "440300" every "4403xx")."""
    if area.endswith("0000"):
        return region[:2] == area[:2]
    if area.endswith("00"):
        return region[:4] == area[:4]
    return region == area


def priority(depot: Depot, region: str) -> int:
    return min((s.priority for s in depot.serves if covers(s.region, region)), default=UNSERVED)


def ranking(
    depots: Sequence[Depot], free: Mapping[str, int], region: str, strategy: Strategy
) -> list[str]:
    position = {d.code: i for i, d in enumerate(depots)}
    if strategy == "most_stock":
        key = {
            d.code: (-free.get(d.code, 0), priority(d, region), position[d.code]) for d in depots
        }
    else:
        key = {d.code: (priority(d, region), 0, position[d.code]) for d in depots}
    return sorted(position, key=key.__getitem__)


def plan_route(
    depots: Sequence[Depot], free: Mapping[str, int], region: str, qty: int, strategy: Strategy
) -> Route | None:
    """The route for `qty` units to `region`, or None when the free units fall short."""
    if qty <= 0 or sum(max(0, free.get(d.code, 0)) for d in depots) < qty:
        return None
    ranked = ranking(depots, free, region, strategy)
    whole = next((code for code in ranked if free.get(code, 0) >= qty), None)
    if whole is not None:
        return [(whole, qty)]
    route: Route = []
    left = qty
    for code in ranked:
        take = min(left, free.get(code, 0))
        if take > 0:
            route.append((code, take))
            left -= take
        if left == 0:
            break
    return route
