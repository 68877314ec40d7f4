"""The stock adapter: a campaign's pools and orders' hot state, changed only by Lua."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgpack
import orjson
from redis.asyncio import Redis

from server.domain.buckets import campaign_of
from server.domain.campaign import Campaign, Mode
from server.domain.commission import Attribution
from server.domain.pools import COUNTERS, Plan
from server.store.keys import CampaignKeys
from server.store.replicated import Replicas, run_script
from server.store.scripts import Scripts

GroupAction = Literal["", "open", "join"]
Order = dict[str, Any]


def reserve_keys(k: CampaignKeys) -> list[str]:
    """The keys reserve.lua takes, in its order (see the script's header)."""
    return [
        k.pools,
        k.orders,
        k.holdings,
        k.idempotency,
        k.groups,
        k.members,
        k.stream,
        k.meta,
        k.counters,
        k.user_orders,
        k.deadlines,
        k.progress,
        k.touches,
    ]


ORDER_FIELDS = 15


@dataclass(frozen=True)
class OrderRequest:
    """One order as the reserve script takes it; the gateway has validated every value."""

    user: str
    mode: Mode
    qty: int
    limit: int
    plan: Plan
    unit_price_fen: int
    pay_before_ms: int
    idempotency_key: str = ""
    body_hash: str = ""
    group_action: GroupAction = ""
    group_code: str = ""
    group_capacity: int = 0
    group_expires_ms: int = 0
    ref: str = ""
    attribution: Attribution = Attribution()  # who earns commission on it
    # tried again after a sold_out refusal its client was never answered (a stock bucket
    # borrowed units for it): that refusal, kept under its Idempotency-Key, is not replayed
    retry_sold_out: bool = False

    def packed(self) -> bytes:
        """The order as reserve.lua's one argument: a MessagePack array of its fields as text
        (one C call unpacks it in the script, where splitting text with a pattern cost a
        quarter of the script's time; text, not integers, whose packing holds NUL bytes that
        redis-benchmark's command line cannot carry). The record's JSON goes without its
        opening "{", as the script joins it after its own fields."""
        fields = self.fields()
        packed: bytes = msgpack.packb([*map(str, fields[:-1]), str(fields[-1])[1:]])
        return packed

    def fields(self) -> tuple[str | int, ...]:
        """The order's fields in reserve.lua's order (see its header)."""
        return (
            self.user,
            self.mode,
            self.qty,
            self.limit,
            self.plan.encode(),
            self.pay_before_ms,
            self.idempotency_key,
            self.body_hash,
            self.group_action,
            self.group_code,
            self.group_capacity,
            self.group_expires_ms,
            "1" if self.attribution.channel == "distributor" else "",
            "1" if self.retry_sold_out else "",
            self.record(),
        )

    def record(self) -> str:
        """What the order record holds that the gateway already knows, as JSON: reserve.lua
        adds what only it knows (the id, the units' pools, the time, the buyer's touches)
        by joining text, so Redis's one thread neither builds nor encodes the rest (issue
        18: encoding the whole order was a fifth of the script's time)."""
        return orjson.dumps(
            {
                "user": self.user,
                "mode": self.mode,
                "qty": self.qty,
                "pool": self.plan.pool,
                "held": "reserved",
                "status": "awaiting_payment",
                "unit_price_fen": self.unit_price_fen,
                "amount_due_fen": self.unit_price_fen * self.qty,
                "pay_before_ms": self.pay_before_ms,
                "ref": self.ref,
                "group_code": self.group_code,
                "idempotency_key": self.idempotency_key,
                "paid_fen": 0,
                "refunded_fen": 0,
                "ended": False,
                "pending_payment": "",
                "attribution": self.attribution.as_dict(),
            }
        ).decode()


@dataclass(frozen=True)
class EndTerms:
    """How an order ends: from which statuses, refunding or not, releasing units or not."""

    allowed: str = "*"
    refund: bool = False
    release: bool = True
    deadline: str = ""


@dataclass(frozen=True)
class Outcome:
    """A script's answer for one order: "ok", "replay" or a refusal code, and the order."""

    code: str
    order: Order | None
    replayed: bool = False  # a refusal answered before under the same Idempotency-Key

    @property
    def accepted(self) -> bool:
        return self.code in ("ok", "replay")


class StockStore:
    def __init__(
        self, redis: Redis, scripts: Scripts, keys: CampaignKeys, *, wait_for: Replicas = None
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self.keys = keys
        self.campaign_id = campaign_of(keys.campaign_id)  # the keys may be a stock bucket's
        self._wait_for = wait_for

    async def init_pools(self, campaign: Campaign) -> str:
        return await self.init_pool_units(campaign.pool_units())

    async def init_pool_units(self, units: Mapping[str, int]) -> str:
        """Set the pools to these quotas ("set"), unless orders exist ("unchanged" when the
        quotas are the same, "locked" when they differ)."""
        keys = [self.keys.pools, self.keys.meta]
        return text(await self._scripts.init_pools(keys=keys, args=pool_args(units)))

    async def install(self, campaign: Campaign, text_: str) -> int | None:
        """Make a validated campaign file live in one atomic step (its pools and the file
        stored together); its new version, or None when orders exist and the pools would
        change (nothing changed then)."""
        return await self.install_units(campaign.pool_units(), text_)

    async def install_units(self, units: Mapping[str, int], text_: str) -> int | None:
        """install, with these quotas for the pools (a stock bucket's share)."""
        keys = [self.keys.pools, self.keys.meta, self.keys.config]
        code, version = await self._scripts.install_campaign(
            keys=keys, args=[text_, *pool_args(units)]
        )
        return int(version) if text(code) == "installed" else None

    async def pool_quotas(self) -> dict[str, int]:
        return {name: counters.get("quota", 0) for name, counters in (await self.pools()).items()}

    async def reserve(self, now_ms: int, requests: list[OrderRequest]) -> list[Outcome]:
        k = self.keys
        args: list[str | int | bytes] = [now_ms, self.campaign_id]
        args += [request.packed() for request in requests]
        if self._wait_for is None:
            reply = await self._scripts.reserve(keys=reserve_keys(k), args=args)
        else:
            script = self._scripts.reserve
            reply = await run_script(self._redis, script, reserve_keys(k), args, self._wait_for)
        return [outcome_of(reply[i], reply[i + 1]) for i in range(0, len(reply), 2)]

    async def release(self, now_ms: int, order_id: str, status: str) -> Outcome:
        """End an unpaid order and put its units back (no money involved)."""
        return await self.end_order(now_ms, order_id, status, EndTerms())

    async def end_order(self, now_ms: int, order_id: str, status: str, terms: EndTerms) -> Outcome:
        k = self.keys
        code, order = await self._scripts.release(
            keys=[
                k.pools,
                k.orders,
                k.holdings,
                k.groups,
                k.members,
                k.stream,
                k.counters,
                k.deadlines,
                k.progress,
                k.leaders,
                k.warehouses,
            ],
            args=[
                now_ms,
                order_id,
                status,
                terms.allowed,
                int(terms.refund),
                int(terms.release),
                terms.deadline,
            ],
        )
        return outcome_of(code, order)

    async def return_unsold(self, now_ms: int, pool: str, target: str) -> int | None:
        """Units moved, or None when the pool had already been returned."""
        k = self.keys
        code, units = await self._scripts.return_unsold(
            keys=[k.pools, k.stream, k.counters], args=[now_ms, pool, target]
        )
        return int(units) if text(code) == "returned" else None

    async def pools(self) -> dict[str, dict[str, int]]:
        """Every pool's counters (see domain/pools.py for what each means)."""
        return parse_pools(await self._redis.hgetall(self.keys.pools))

    async def returned_pools(self) -> dict[str, str]:
        raw = await self._redis.hgetall(self.keys.pools)
        return {
            text(f).removesuffix(".returned_to"): text(v)
            for f, v in raw.items()
            if text(f).endswith(".returned_to")
        }

    async def order(self, order_id: str) -> Order | None:
        raw = await self._redis.hget(self.keys.orders, order_id)
        return None if raw is None else decode(raw)

    async def last_order_number(self) -> int:
        """The number in the newest order's id: the count of orders placed, unless a Redis
        that took the campaign over skipped the numbers its predecessor may have lost."""
        return int(await self._redis.hget(self.keys.meta, "seq") or 0)


def pool_args(units: Mapping[str, int]) -> list[str | int]:
    """The pools as set_pools.lua takes them: a signature, then name and quota pairs."""
    args: list[str | int] = [",".join(f"{name}={n}" for name, n in units.items())]
    for name, n in units.items():
        args += [name, n]
    return args


def parse_pools(raw: dict[Any, Any]) -> dict[str, dict[str, int]]:
    """The pools hash ("<pool>.<counter>" -> int) as {pool: {counter: int}}, every counter
    there (a bucket's loan counters are made by its first loan)."""
    pools: dict[str, dict[str, int]] = {}
    for field, value in raw.items():
        name, _, counter = text(field).rpartition(".")
        if counter in COUNTERS:
            pools.setdefault(name, dict.fromkeys(COUNTERS, 0))[counter] = int(value)
    return pools


def outcome_of(code: bytes | str, order: bytes | str) -> Outcome:
    if order in (b"R", "R"):
        return Outcome(text(code), None, replayed=True)
    return Outcome(text(code), decode(order) if order else None)


def decode(raw: bytes | str) -> Order:
    decoded = orjson.loads(raw)
    assert isinstance(decoded, dict)
    return decoded


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
