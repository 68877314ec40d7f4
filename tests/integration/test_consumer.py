"""The consumer group's two promises: entries a dead consumer left pending are taken over,
and trimming never drops an entry some consumer has not acknowledged."""

from __future__ import annotations

import time
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.campaign import parse_campaign
from server.domain.pools import plan_for
from server.ledger.consumer import GROUP, LedgerConsumer
from server.ledger.schema import order_events, orders
from server.store.buckets import BucketedStock
from server.store.keys import CampaignKeys
from server.store.scripts import Scripts
from server.store.stock import OrderRequest
from tests.campaigns import campaign_text
from tests.conftest import stream_entries
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


async def test_every_stock_buckets_entries_reach_the_ledger_once_though_their_ids_collide(
    redis: Redis, key_prefix: str, ledger_engine: AsyncEngine
) -> None:
    """Each bucket's stream numbers its entries by its own shard's clock, so entries of
    different buckets can share ids; none may be taken for another already applied, and a
    redelivered one still applies once."""
    campaign = parse_campaign(campaign_text(3_000, 0, 0))
    stock = BucketedStock(redis, Scripts.register(redis), key_prefix, campaign.id, 3)
    await stock.init_pools(campaign)
    later = f"{int(time.time() * 1000) + 3_600_000}-0"
    for bucket in stock.buckets:  # every stream's next ids the same: "<later>-1", "-2", ...
        await redis.xadd(bucket.keys.stream, {"seeded": "1"}, id=later)
        await redis.xdel(bucket.keys.stream, later)
    plan = plan_for(campaign, "direct")
    requests = [OrderRequest(f"v{i}", "direct", 1, 5, plan, 100, 0) for i in range(300)]
    outcomes = await stock.reserve(0, requests)
    placed = {o.order["id"] for o in outcomes if o.order is not None}
    assert len(placed) == 300
    ids = [{sid for sid, _ in await stream_entries(redis, key_prefix, tag)} for tag in stock.tags]
    assert ids[0] & ids[1] and ids[1] & ids[2]
    worker = LedgerConsumer(redis, ledger_engine, key_prefix, "w")
    assert await worker.consume(stock.tags, block_ms=10) == 300
    await redis.xgroup_setid(stock.buckets[2].keys.stream, GROUP, id="0")  # all redelivered
    assert await worker.consume(stock.tags, block_ms=10) == len(ids[2])
    async with ledger_engine.connect() as conn:
        rows = (await conn.execute(select(orders.c.order_id, orders.c.campaign_id))).all()
        events = (await conn.execute(select(func.count()).select_from(order_events))).scalar()
    assert {order_id for order_id, _ in rows} == placed and len(rows) == 300
    assert {campaign_id for _, campaign_id in rows} == {campaign.id}
    assert events == 300
