"""A campaign's stock split over buckets (domain/buckets.py has the rules): one StockStore
per keyspace, each order placed in its buyer's bucket, units lent between buckets when one
runs dry. Every change is a script inside one keyspace, so each works on a Redis Cluster."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from server.domain.buckets import (
    bucket_of,
    bucket_plan,
    donors_by_spare,
    keyspace_of,
    loan_from,
    loan_size,
    pinned_pools,
    shortfall,
    split_pools,
    taken,
)
from server.domain.campaign import Campaign
from server.domain.pools import COUNTERS, Plan, available
from server.store.keys import CampaignKeys, CampaignKeyspaces
from server.store.replicated import NotReplicated, Replicas, run_script
from server.store.scripts import Scripts
from server.store.stock import (
    EndTerms,
    Order,
    OrderRequest,
    Outcome,
    StockStore,
    parse_pools,
    text,
)

log = logging.getLogger("liveroom.buckets")

Pools = dict[str, dict[str, int]]
BORROW_ROUNDS = 3  # a retry can lose the borrowed units to a concurrent order: try again


@dataclass(frozen=True)
class Lent:
    """What one loan moved: stock units per pool and the warehouse units that go with them."""

    loan_id: str
    units: list[tuple[str, int]]
    houses: list[tuple[str, int]]

    @classmethod
    def of(cls, loan_id: str, record: Mapping[str, Any]) -> Lent:
        """From the loan's record (a JSON list of pairs; Lua writes an empty one as {})."""
        units, houses = record.get("units") or [], record.get("houses") or []
        return cls(
            loan_id,
            [(str(pool), int(n)) for pool, n in units] if isinstance(units, list) else [],
            [(str(code), int(n)) for code, n in houses] if isinstance(houses, list) else [],
        )


@dataclass(frozen=True)
class Loan:
    """Units one bucket lent another that the borrower has not taken yet."""

    loan_id: str
    donor: str  # keyspaces
    borrower: str
    units: dict[str, int]  # per pool


async def loans_in_flight(redis: Redis, spaces: CampaignKeyspaces) -> list[Loan]:
    """Every loan lent and not yet taken (a process died between its halves; the sweep
    finishes it): its units are in no bucket's pools meanwhile."""
    flying = []
    for donor in spaces.buckets:
        for raw_id, raw in (await redis.hgetall(donor.loans)).items():
            loan, loan_id = orjson.loads(raw), text(raw_id)
            if not await redis.sismember(spaces.named(loan["to"]).loans_taken, loan_id):
                units = dict(Lent.of(loan_id, loan).units)
                flying.append(Loan(loan_id, donor.campaign_id, str(loan["to"]), units))
    return flying


class BucketedStock:
    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        prefix: str,
        campaign_id: str,
        k: int,
        *,
        wait_for: Replicas = None,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self.spaces = CampaignKeyspaces.of(prefix, campaign_id, k)
        self.tags = self.spaces.tags
        self.buckets = [
            StockStore(redis, scripts, keys, wait_for=wait_for) for keys in self.spaces.buckets
        ]
        self._wait_for = wait_for
        self._pinned: frozenset[str] = frozenset()
        self._plans: dict[tuple[Plan, int], Plan] = {}

    @property
    def k(self) -> int:
        return len(self.buckets)

    @property
    def keys(self) -> CampaignKeys:
        """The campaign's own keys (bucket 0's): its configuration, meta, feed, ..."""
        return self.spaces.home

    def configure(self, campaign: Campaign) -> None:
        """What the split follows: which pools stay whole in bucket 0."""
        self._pinned = pinned_pools({p.name: p.modes for p in campaign.stock.pools})
        self._plans = {}

    def shares(self, campaign: Campaign) -> list[dict[str, int]]:
        """Each bucket's quota of each pool."""
        return split_pools(campaign.pool_units(), self.k, self._pinned)

    def bucket_totals(self, campaign: Campaign) -> list[int]:
        """Each bucket's units: what its share of the warehouses holds."""
        return [sum(share.values()) for share in self.shares(campaign)]

    async def init_pools(self, campaign: Campaign) -> list[str]:
        """Each bucket's share of each pool (see StockStore.init_pool_units for the answers)."""
        self.configure(campaign)
        shares = self.shares(campaign)
        return [await store.init_pool_units(shares[b]) for b, store in enumerate(self.buckets)]

    async def install(self, campaign: Campaign, text_: str) -> int | None:
        """Make a validated campaign file live: every bucket's share of its pools set and
        the file stored with bucket 0's (see StockStore.install); None, and nothing
        changed, when orders exist and a bucket's share would change."""
        self.configure(campaign)
        shares = self.shares(campaign)
        for b, store in enumerate(self.buckets[1:], start=1):
            if await store.last_order_number() and await store.pool_quotas() != shares[b]:
                return None
        version = await self.buckets[0].install_units(shares[0], text_)
        if version is not None:
            for b, store in enumerate(self.buckets[1:], start=1):
                await store.init_pool_units(shares[b])
        return version

    async def orders_placed(self) -> bool:
        return any([await store.last_order_number() > 0 for store in self.buckets])

    def bucket_index(self, keyspace: str) -> int | None:
        return self.spaces.index_of(keyspace)

    async def drop_buckets_beyond(self, other: BucketedStock) -> None:
        """This split's buckets the other does not have lose their pools (a campaign whose
        bucket count changed before its first order)."""
        for store in self.buckets:
            if store.keys.campaign_id not in other.tags:
                await self._redis.delete(store.keys.pools, store.keys.warehouses)

    def bucket_for_order(self, order_id: str) -> StockStore:
        return self.buckets[self.spaces.index_of(keyspace_of(order_id)) or 0]

    async def order(self, order_id: str) -> Order | None:
        return await self.bucket_for_order(order_id).order(order_id)

    async def end_order(self, now_ms: int, order_id: str, status: str, terms: EndTerms) -> Outcome:
        return await self.bucket_for_order(order_id).end_order(now_ms, order_id, status, terms)

    async def returned_pools(self) -> dict[str, str]:
        return await self.buckets[0].returned_pools()

    async def reserve(self, now_ms: int, requests: Sequence[OrderRequest]) -> list[Outcome]:
        """Place each order in its buyer's bucket; an order its bucket refuses as sold out
        is tried again there once units are borrowed from the others, and refused only
        when no bucket has them to lend."""
        if self.k == 1:
            return await self.buckets[0].reserve(now_ms, list(requests))
        routed = [
            (b, replace(r, plan=self._plan(r.plan, b)))
            for r in requests
            for b in [bucket_of(r.user, r.mode, self.k)]
        ]
        outcomes = await self._place(now_ms, routed)
        for _ in range(BORROW_ROUNDS):
            # a sold_out answered before under the same key stands: its client had it
            short = [i for i, o in enumerate(outcomes) if o.code == "sold_out" and not o.replayed]
            retry = await self._borrow([(routed[i][0], requests[i]) for i in short])
            retry = [short[j] for j in retry]
            if not retry:
                break
            again = [(routed[i][0], replace(routed[i][1], retry_sold_out=True)) for i in retry]
            for i, outcome in zip(retry, await self._place(now_ms, again), strict=True):
                outcomes[i] = outcome
        return outcomes

    async def release(self, now_ms: int, order_id: str, status: str) -> Outcome:
        return await self.bucket_for_order(order_id).release(now_ms, order_id, status)

    async def return_unsold(self, now_ms: int, pool: str, target: str) -> int | None:
        """Every bucket's unsold units of the pool moved to target (None: already done)."""
        moved = [await store.return_unsold(now_ms, pool, target) for store in self.buckets]
        return None if all(m is None for m in moved) else sum(m or 0 for m in moved)

    async def pools_by_bucket(self) -> list[Pools]:
        raw = await asyncio.gather(*(self._redis.hgetall(s.keys.pools) for s in self.buckets))
        return [parse_pools(r) for r in raw]

    async def pools(self) -> Pools:
        """The campaign's pools: every counter summed over the buckets."""
        merged: Pools = {}
        for bucket in await self.pools_by_bucket():
            for pool, counters in bucket.items():
                into = merged.setdefault(pool, dict.fromkeys(COUNTERS, 0))
                for counter, n in counters.items():
                    into[counter] += n
        return merged

    async def loans_in_flight(self) -> list[Loan]:
        return await loans_in_flight(self._redis, self.spaces)

    async def finish_loans(self) -> int:
        """Give every borrower the loans lent to it and not taken (a process that died
        between the halves); each is taken once. The loans finished."""
        finished = 0
        for donor, store in enumerate(self.buckets):
            for loan_id, raw in (await self._redis.hgetall(store.keys.loans)).items():
                loan = orjson.loads(raw)
                lent = Lent.of(text(loan_id), loan)
                borrower = self.spaces.index_of(loan["to"]) or 0
                finished += await self._complete(donor, borrower, lent)
        return finished

    def _plan(self, plan: Plan, b: int) -> Plan:
        """The plan as bucket b applies it (worked out once per plan and bucket)."""
        if self.k == 1:
            return plan
        found = self._plans.get((plan, b))
        if found is None:
            found = self._plans[(plan, b)] = bucket_plan(plan, b, self.k, self._pinned)
        return found

    async def _place(
        self, now_ms: int, routed: Sequence[tuple[int, OrderRequest]]
    ) -> list[Outcome]:
        """One reserve call per bucket with orders, all at once; answers in request order."""
        by_bucket: dict[int, list[int]] = {}
        for i, (b, _) in enumerate(routed):
            by_bucket.setdefault(b, []).append(i)
        replies = await asyncio.gather(
            *(
                self.buckets[b].reserve(now_ms, [routed[i][1] for i in indexes])
                for b, indexes in by_bucket.items()
            )
        )
        outcomes: list[Outcome | None] = [None] * len(routed)
        for indexes, reply in zip(by_bucket.values(), replies, strict=True):
            for i, outcome in zip(indexes, reply, strict=True):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    async def _borrow(self, short: Sequence[tuple[int, OrderRequest]]) -> list[int]:
        """Borrow what each short order's bucket lacks for it (by the campaign's plan) from
        the buckets with the most to give, counting the units the short orders before it
        in the same bucket will take; the positions of the orders to try again."""
        remaining = [
            {pool: c["remaining"] for pool, c in bucket.items()}
            for bucket in await self.pools_by_bucket()
        ]
        covered = []
        for position, (b, request) in enumerate(short):
            plans = [self._plan(request.plan, d) for d in range(self.k)]
            need = shortfall(plans[b], remaining[b], request.qty)
            for donor in donors_by_spare(plans, remaining, b):
                if need == 0 or not await self._loan(donor, b, plans[donor], remaining, need):
                    break
                need = shortfall(plans[b], remaining[b], request.qty)
            if need == 0:
                covered.append(position)
                remaining[b] = taken(plans[b], remaining[b], request.qty)
        return covered

    async def _loan(
        self, donor: int, borrower: int, plan: Plan, remaining: list[dict[str, int]], need: int
    ) -> bool:
        """One loan from donor to borrower towards `need` units by the donor's plan, both
        halves, `remaining` (the buckets' as last read) moved along; False when no more can
        be borrowed now (the donor had nothing, or a replica did not confirm a half: the
        order stays refused and the sweep finishes that loan)."""
        size = loan_size(need, available(plan, remaining[donor]), self.k)
        wanted = loan_from(plan, remaining[donor], size)
        try:
            lent = await self._lend(donor, borrower, wanted, dict(plan.lenders))
            if lent is None:
                return True  # this donor had less than it seemed: ask the next
            await self._complete(donor, borrower, lent)
        except NotReplicated as exc:
            log.warning("%s: a loan not confirmed by a replica: %s", self.tags[borrower], exc)
            return False
        for pool, n in lent.units:
            remaining[donor][pool] -= n
            remaining[borrower][pool] = remaining[borrower].get(pool, 0) + n
        return True

    async def _lend(
        self, donor: int, borrower: int, wanted: list[tuple[str, int]], floors: Mapping[str, int]
    ) -> Lent | None:
        """The donor's half of a loan: what left the donor (None: nothing could)."""
        loan_id = uuid.uuid4().hex
        keys = self.buckets[donor].keys
        args: list[str | int] = [loan_id, self.tags[borrower]]
        for pool, n in wanted:
            args += [pool, n, floors.get(pool, 0)]
        units, houses = await self._run(
            self._scripts.lend, [keys.pools, keys.loans, keys.warehouses], args
        )
        lent = Lent.of(loan_id, {"units": _pairs_of(units), "houses": orjson.loads(houses)})
        return lent if lent.units else None

    async def _complete(self, donor: int, borrower: int, lent: Lent) -> bool:
        """The borrower's half, then the loan off the donor's books: True when the borrower
        took the units now, False when it had already (only the donor's record was left)."""
        args: list[str | int] = [lent.loan_id, orjson.dumps(lent.houses).decode()]
        for pool, n in lent.units:
            args += [pool, n]
        into = self.buckets[borrower].keys
        taken = await self._run(
            self._scripts.take_loan, [into.pools, into.loans_taken, into.warehouses], args
        )
        await self._redis.hdel(self.buckets[donor].keys.loans, lent.loan_id)
        return text(taken) == "taken"

    async def _run(self, script: AsyncScript, keys: list[str], args: list[str | int]) -> Any:
        """A loan's half, under durability "replicated" answered only once a replica has
        it: a failover that lost a lend the borrower had taken would put the units in two
        buckets (NotReplicated: the sweep finishes the loan once a replica has it)."""
        if self._wait_for is None:
            return await script(keys=keys, args=args)
        return await run_script(self._redis, script, keys, args, self._wait_for)


def _pairs_of(flat: list[Any]) -> list[list[Any]]:
    return [[text(flat[i]), int(flat[i + 1])] for i in range(0, len(flat), 2)]
