"""Order ids are never handed out twice. A Redis that takes a campaign over (a replica
promoted in a failover, a server restarted from its append-only file) may have lost the old
one's last orders, whose ids buyers were already answered; reserve.lua skips past them. The
takeover is staged here by leaving the campaign as a promoted replica finds it: the order
counter behind the lost orders, written by a Redis with another replication id.
(tests/integration/test_failover.py kills a real primary.)"""

from __future__ import annotations

from redis.asyncio import Redis

from server.domain.campaign import parse_campaign
from server.domain.pools import plan_for
from server.store.keys import CampaignKeys
from server.store.scripts import Scripts
from server.store.stock import OrderRequest, StockStore
from tests.campaigns import campaign_text


def _order(user: str) -> OrderRequest:
    campaign = parse_campaign(campaign_text(100, 0, 0))
    return OrderRequest(user, "presale", 1, 5, plan_for(campaign, "presale"), 100, 0)


async def _numbers(store: StockStore, *batches: list[str]) -> list[int]:
    """Place one order per user, batch by batch; the numbers of their ids."""
    numbers = []
    for users in batches:
        for outcome in await store.reserve(0, [_order(user) for user in users]):
            assert outcome.code == "ok" and outcome.order is not None
            campaign_id, _, number = outcome.order["id"].rpartition(".")
            assert campaign_id == "mid-autumn"
            numbers.append(int(number))
    return numbers


async def _store(redis: Redis, key_prefix: str) -> StockStore:
    store = StockStore(redis, Scripts.register(redis), CampaignKeys(key_prefix, "mid-autumn"))
    assert await store.init_pools(parse_campaign(campaign_text(100, 0, 0))) == "set"
    return store


async def test_ids_count_up_one_by_one_while_one_redis_writes(
    redis: Redis, key_prefix: str
) -> None:
    store = await _store(redis, key_prefix)
    assert await _numbers(store, ["a"], ["b", "c"], ["d"]) == [1, 2, 3, 4]
    assert await store.last_order_number() == 4


async def test_a_redis_taking_over_skips_the_ids_its_predecessor_may_have_lost(
    redis: Redis, key_prefix: str
) -> None:
    store = await _store(redis, key_prefix)
    answered = await _numbers(store, ["a", "b", "c", "d"])  # 1..4, all answered 201
    # The promoted replica got the orders up to 2 only, from a primary of another id.
    meta = store.keys.meta
    await redis.hset(meta, mapping={"seq": 2, "seq_writer": "0" * 40})
    await redis.hdel(store.keys.orders, "mid-autumn.3", "mid-autumn.4")
    after = await _numbers(store, ["e", "f"], ["g"])
    assert min(after) > max(answered)  # 3 and 4 are not handed out again
    assert after == list(range(after[0], after[0] + 3))  # then one by one again
    assert await store.last_order_number() == after[-1]
