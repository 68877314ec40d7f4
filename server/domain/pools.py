"""Stock pool rules as plain Python: the model that the Lua scripts must match.

Every counter is kept from the point of view of the pool whose units it counts:
  quota + moved_in - moved_out + received - sent == remaining + reserved + sold  (no unit lost)
(`sent` and `received` are units lent between a campaign's stock buckets, domain/buckets.py.)
`borrowed` counts units a pool's orders hold from other pools, `lent` the reverse,
so the sum of `borrowed` over all pools equals the sum of `lent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from server.domain.campaign import Campaign, Mode

Allocation = tuple[tuple[str, int], ...]
"""Where an order's units came from: (pool, units), the order's own pool first."""

COUNTERS = (
    "quota",
    "remaining",
    "reserved",
    "sold",
    "borrowed",
    "lent",
    "moved_in",
    "moved_out",
    "sent",
    "received",
)


@dataclass(frozen=True)
class Plan:
    """How an order of one mode draws units: its own pool, then lenders down to a floor."""

    pool: str
    lenders: tuple[tuple[str, int], ...] = ()

    def encode(self) -> str:
        """The plan as the reserve script reads it: "group;distribution:1000"."""
        return ";".join([self.pool, *(f"{name}:{floor}" for name, floor in self.lenders)])


def plan_for(campaign: Campaign, mode: Mode) -> Plan:
    pool = campaign.pool_for(mode)
    return Plan(pool.name, tuple((rule.lender, rule.floor) for rule in pool.borrow))


def offers(plan: Plan, remaining: Mapping[str, int]) -> list[tuple[str, int]]:
    """What each pool can give an order by this plan: all of its own, lenders above their floor."""
    own = [(plan.pool, remaining.get(plan.pool, 0))]
    return own + [(name, max(0, remaining.get(name, 0) - floor)) for name, floor in plan.lenders]


def available(plan: Plan, remaining: Mapping[str, int]) -> int:
    return sum(units for _, units in offers(plan, remaining))


@dataclass
class PoolState:
    quota: int
    remaining: int
    reserved: int = 0
    sold: int = 0
    borrowed: int = 0
    lent: int = 0
    moved_in: int = 0
    moved_out: int = 0
    sent: int = 0
    received: int = 0
    returned_to: str | None = None

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}


@dataclass
class PoolBook:
    pools: dict[str, PoolState] = field(default_factory=dict)

    @classmethod
    def for_campaign(cls, campaign: Campaign) -> PoolBook:
        return cls({name: PoolState(n, n) for name, n in campaign.pool_units().items()})

    def reserve(self, plan: Plan, qty: int) -> Allocation | None:
        """Take qty units by the plan, all or nothing; None when the plan cannot cover qty."""
        offered = offers(plan, self.remaining())
        if sum(units for _, units in offered) < qty:
            return None
        allocation: list[tuple[str, int]] = []
        needed = qty
        for name, units in offered:
            take = min(units, needed)
            if take > 0:
                allocation.append((name, take))
                self._take(plan.pool, name, take)
                needed -= take
        return tuple(allocation)

    def release(self, owner: str, allocation: Allocation) -> None:
        """Put an unpaid order's units back where they came from (or where that pool went)."""
        for source, units in allocation:
            state = self.pools[source]
            state.reserved -= units
            if source != owner:
                self.pools[owner].borrowed -= units
                state.lent -= units
            self._put_back(source, units)

    def return_unsold(self, name: str, target: str) -> int:
        """Move a pool's unsold units to target and close it; repeating moves nothing."""
        state = self.pools[name]
        if state.returned_to is not None:
            return 0
        moved = state.remaining
        state.remaining = 0
        state.moved_out += moved
        state.returned_to = target
        self.pools[target].moved_in += moved
        self.pools[target].remaining += moved
        return moved

    def remaining(self) -> dict[str, int]:
        return {name: p.remaining for name, p in self.pools.items()}

    def total_remaining(self) -> int:
        return sum(p.remaining for p in self.pools.values())

    def broken_invariants(self) -> list[str]:
        problems = []
        for name, p in self.pools.items():
            if p.quota + p.moved_in - p.moved_out + p.received - p.sent != (
                p.remaining + p.reserved + p.sold
            ):
                problems.append(f"{name}: units do not add up: {p.counters()}")
            if min(p.counters().values()) < 0:
                problems.append(f"{name}: negative counter: {p.counters()}")
        if sum(p.borrowed for p in self.pools.values()) != sum(p.lent for p in self.pools.values()):
            problems.append("borrowed and lent units differ")
        return problems

    def _take(self, owner: str, source: str, units: int) -> None:
        state = self.pools[source]
        state.remaining -= units
        state.reserved += units
        if source != owner:
            self.pools[owner].borrowed += units
            state.lent += units

    def _put_back(self, source: str, units: int) -> None:
        # A closed pool forwards released units along its return chain.
        destination = source
        for _ in range(len(self.pools)):
            forward = self.pools[destination].returned_to
            if forward is None:
                break
            self.pools[destination].moved_out += units
            self.pools[forward].moved_in += units
            destination = forward
        self.pools[destination].remaining += units
