"""The user pool in Redis: member tiers, distributors and community links."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from server.domain.privacy import mask_user
from server.store.batching import Coalescer
from server.store.keys import IdentityKeys
from server.store.scripts import Scripts
from server.store.stock import decode, text
from server.telemetry import REDIS_TRIPS

Record = dict[str, Any]


@dataclass(frozen=True)
class BuyerFacts:
    user: Record | None
    distributor_code: str | None
    depositor: bool


class IdentityStore:
    def __init__(self, redis: Redis, scripts: Scripts, prefix: str) -> None:
        self._redis = redis
        self._scripts = scripts
        self.keys = IdentityKeys(prefix)
        # Every order asks who its buyer is: the asks of one event-loop tick share a round trip.
        self.buyers: Coalescer[tuple[str, str], BuyerFacts] = Coalescer(self._buyer_facts)
        self._trips = REDIS_TRIPS.labels("buyer_facts")

    async def _buyer_facts(self, asks: list[tuple[str, str]]) -> list[BuyerFacts]:
        """For each (user, the campaign's depositors key): the user's record, their
        distributor code, and whether they paid a deposit. Three commands for the whole
        batch (one key each, so a Cluster can serve them), not three per buyer."""
        self._trips.inc()
        users = [user for user, _ in asks]
        asked_of: dict[str, list[int]] = {}  # depositors key -> the asks it answers
        for i, (_, depositors) in enumerate(asks):
            asked_of.setdefault(depositors, []).append(i)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.keys.users, users)
            pipe.hmget(self.keys.distributor_of, users)
            for depositors, indexes in asked_of.items():
                pipe.smismember(depositors, [users[i] for i in indexes])
            records, codes, *deposit_flags = await pipe.execute()
        depositor = [False] * len(asks)
        for indexes, flags in zip(asked_of.values(), deposit_flags, strict=True):
            for i, flag in zip(indexes, flags, strict=True):
                depositor[i] = bool(flag)
        return [
            BuyerFacts(decode(record) if record else None, text(code) if code else None, paid)
            for record, code, paid in zip(records, codes, depositor, strict=True)
        ]

    async def set_member_tier(self, user: str, tier: str | None) -> Record:
        record = {"user": user, "member_tier": tier, "updated_at_ms": int(time.time() * 1000)}
        encoded = orjson.dumps(record)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.users, user, encoded)
            pipe.xadd(self.keys.stream, {"type": "user", "user": encoded})
            await pipe.execute()
        return record

    async def register(
        self, now_ms: int, user: str, code: str, upline: str, status: str, campaign_id: str
    ) -> tuple[str, Record | None]:
        k = self.keys
        result, record = await self._scripts.register_distributor(
            keys=[k.refs, k.distributor_of, k.stream, k.counters, k.recruited],
            args=[now_ms, user, code, upline, status, campaign_id],
        )
        return text(result), decode(record) if record else None

    async def add_community(self, now_ms: int, code: str, name: str, campaign_id: str) -> Record:
        record = {
            "kind": "community",
            "code": code,
            "name": name,
            "created_at_ms": now_ms,
            "campaign_id": campaign_id,
        }
        encoded = orjson.dumps(record)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.keys.refs, code, encoded)
            pipe.xadd(self.keys.stream, {"type": "community", "community": encoded})
            await pipe.execute()
        return record

    async def approve(self, code: str) -> Record | None:
        """Activate a distributor recruited by approval; repeating changes nothing."""
        record = await self.link(code)
        if record is None or record.get("kind") != "distributor":
            return None
        if record["status"] != "active":
            record["status"] = "active"
            encoded = orjson.dumps(record)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self.keys.refs, code, encoded)
                pipe.hincrby(self.keys.counters, "distributors.recruited", 1)
                pipe.zadd(self.keys.recruited, {code: int(time.time() * 1000)})
                pipe.xadd(self.keys.stream, {"type": "distributor", "distributor": encoded})
                await pipe.execute()
        return record

    async def record_payout(
        self, code: str, amount_fen: int, settles: Record | None = None
    ) -> None:
        """A payout to a distributor (recorded; the transfer is outside), and the withdrawal
        request it settles, both or neither."""
        payout: dict[FieldT, EncodableT] = {
            "type": "payout",
            "distributor": code,
            "amount_fen": amount_fen,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            if settles is not None:
                payout["withdrawal_id"] = settles["id"]
                pipe.xadd(self.keys.stream, _withdrawal_entry(settles))
            pipe.xadd(self.keys.stream, payout)
            await pipe.execute()

    async def return_payout(self, payout_id: str, code: str, amount_fen: int) -> bool:
        """A refused transfer's payout back in the balance, once (return_payout.lua)."""
        k = self.keys
        given = await self._scripts.return_payout(
            keys=[k.stream, k.returned_payouts], args=[payout_id, code, amount_fen]
        )
        return bool(given)

    async def record_withdrawal(self, withdrawal: Record) -> None:
        """A withdrawal request, or the decision on one (the newest entry wins)."""
        await self._redis.xadd(self.keys.stream, _withdrawal_entry(withdrawal))

    async def payout_lock(self, code: str) -> bool:
        """One payout per distributor at a time (the balance is read from the ledger)."""
        return bool(await self._redis.set(f"{self.keys.refs}:payout:{code}", 1, nx=True, ex=30))

    async def payout_unlock(self, code: str) -> None:
        await self._redis.delete(f"{self.keys.refs}:payout:{code}")

    async def link_and_volume(self, code: str, leaders: list[str]) -> tuple[Record | None, int]:
        """A share link, and the units paid (net of refunds) through it in one campaign (its
        `leaders` sets, kept by the scripts: one per stock bucket), in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.refs, code)
            for key in leaders:
                pipe.zscore(key, code)
            raw, *volumes = await pipe.execute()
        return (decode(raw) if raw else None), sum(int(v or 0) for v in volumes)

    async def link(self, code: str) -> Record | None:
        raw = await self._redis.hget(self.keys.refs, code)
        return decode(raw) if raw else None

    async def set_display_name(self, code: str, name: str | None) -> None:
        if name:
            await self._redis.hset(self.keys.names, code, name)
        else:
            await self._redis.hdel(self.keys.names, code)

    async def display_name(self, code: str) -> str | None:
        raw = await self._redis.hget(self.keys.names, code)
        return text(raw) if raw else None

    async def screen_labels(self, codes: list[str]) -> dict[str, str]:
        """What a big screen calls each distributor: the name they chose, else their user
        id masked."""
        if not codes:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.keys.names, codes)
            pipe.hmget(self.keys.refs, codes)
            names, records = await pipe.execute()
        labels = {}
        for code, name, record in zip(codes, names, records, strict=True):
            if name:
                labels[code] = text(name)
            elif record:
                labels[code] = mask_user(str(decode(record).get("user") or code))
        return labels

    async def distributor_code(self, user: str) -> str | None:
        raw = await self._redis.hget(self.keys.distributor_of, user)
        return text(raw) if raw else None


def _withdrawal_entry(withdrawal: Record) -> dict[FieldT, EncodableT]:
    return {"type": "withdrawal", "withdrawal": orjson.dumps(withdrawal).decode()}
