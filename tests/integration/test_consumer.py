"""The consumer group's two promises: entries a dead consumer left pending are taken over,
and trimming never drops an entry some consumer has not acknowledged."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.consumer import GROUP, LedgerConsumer
from server.store.keys import CampaignKeys
from tests.integration.test_ledger_crash import (
    assert_ledger_complete,
    campaign_runtime,
    place_orders,
)


async def test_entries_of_a_dead_consumer_are_reclaimed(
    redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path, ledger_engine: AsyncEngine
) -> None:
    async with campaign_runtime(redis_url, key_prefix, tmp_path) as runtime:
        placed = await place_orders(runtime, 120, "d")
        stream = CampaignKeys(key_prefix, "mid-autumn").stream
        dead = LedgerConsumer(redis, ledger_engine, key_prefix, "dead")
        await dead._ensure_group(stream)
        # "dead" reads everything and vanishes before applying or acknowledging any of it
        await redis.xreadgroup(GROUP, "dead", {stream: ">"}, count=1000)
        assert (await redis.xpending(stream, GROUP))["pending"] == 120
        heir = LedgerConsumer(redis, ledger_engine, key_prefix, "heir", claim_idle_ms=0)
        assert await heir.consume(["mid-autumn"], block_ms=10) == 120
        assert (await redis.xpending(stream, GROUP))["pending"] == 0
        await assert_ledger_complete(runtime, ledger_engine, len(placed))


async def test_trim_keeps_every_unacknowledged_entry(
    redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path, ledger_engine: AsyncEngine
) -> None:
    async with campaign_runtime(redis_url, key_prefix, tmp_path) as runtime:
        await place_orders(runtime, 30, "a")
        stream = CampaignKeys(key_prefix, "mid-autumn").stream
        worker = LedgerConsumer(redis, ledger_engine, key_prefix, "w")
        assert await worker.consume(["mid-autumn"], block_ms=10) == 30
        await place_orders(runtime, 20, "b")
        await redis.xreadgroup(GROUP, "slow", {stream: ">"}, count=5)  # 5 pending, 15 unread
        await worker.trim(["mid-autumn"])
        assert await redis.xlen(stream) == 20  # only the 30 acknowledged entries went
        await redis.xgroup_create(stream, "screens", id="0")  # a second group, far behind
        await worker.trim(["mid-autumn"])
        assert await redis.xlen(stream) == 20
