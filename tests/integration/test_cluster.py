"""Two campaigns on one Redis Cluster. Every key of a campaign carries its hash tag, so a
campaign lives on one shard and two campaigns may live on two: here they do, a spike sells
exactly each one's stock on its own shard, payments settle there, the worker brings both
streams into the ledger, and both reconcile clean."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import cast

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from server.store.keys import CampaignKeys
from tests.campaigns import campaign_text
from tests.integration.conftest import Serve

pytestmark = pytest.mark.parametrize(
    ("redis_url", "ledger_url"), [("cluster", "postgres")], indirect=True
)

USERS = 40
ATTEMPTS_PER_USER = 3  # 120 attempts for each campaign's 40 units that direct orders reach


async def test_two_campaigns_on_different_shards_both_sell_exactly(
    serve_with_ledger: Serve, redis: Redis, key_prefix: str
) -> None:
    cluster = cast(RedisCluster, redis)
    await cluster.initialize()

    def shard(campaign_id: str) -> str:
        node = cluster.get_node_from_key(CampaignKeys(key_prefix, campaign_id).pools)
        assert node is not None
        return node.name

    other = next(f"harvest-{i}" for i in range(100) if shard(f"harvest-{i}") != shard("mid-autumn"))
    campaigns = ("mid-autumn", other)

    # 60 units: presale 12, group 30, distribution 18; direct may borrow group down to 20.
    async with serve_with_ledger(campaign_text(60, 0, 20)) as s:
        text = campaign_text(60, 0, 20, campaign_id=other)
        r = await s.client.put(
            f"/api/v1/ops/campaigns/{other}", content=text.encode(), headers=s.ops
        )
        assert r.status_code == 200, r.text
        logins = await asyncio.gather(*(s.login(f"v{i}") for i in range(USERS)))
        connector = aiohttp.TCPConnector(limit=USERS)
        async with aiohttp.ClientSession(s.base_url, connector=connector) as spike:

            async def viewer(i: int) -> list[tuple[str, int, str]]:
                results = []
                for n in range(ATTEMPTS_PER_USER):
                    campaign = campaigns[(i + n) % 2]
                    url = f"/api/v1/campaigns/{campaign}/orders"
                    body = {"mode": "direct", "qty": 1}
                    async with spike.post(url, json=body, headers=logins[i]) as answer:
                        reply = await answer.json()
                        results.append((campaign, answer.status, reply.get("order_id", "")))
                return results

            batches = await asyncio.gather(*(viewer(i) for i in range(USERS)))
        outcomes = [outcome for batch in batches for outcome in batch]
        accepted = Counter(campaign for campaign, status, _ in outcomes if status == 201)
        # distribution 18 + group down to its floor of 20 (10): 28 each, every other a 409
        assert accepted == {campaign: 28 for campaign in campaigns}
        assert {status for _, status, _ in outcomes} == {201, 409}

        # a few payments settle on each shard
        for campaign in campaigns:
            paid = [
                (oid, i)
                for i, batch in enumerate(batches)
                for c, st, oid in batch
                if c == campaign and st == 201
            ][:3]
            for order_id, i in paid:
                await s.pay(logins[i], order_id)

        for campaign in campaigns:
            stock = await s.stock(campaign)
            pools = stock["pools"]
            assert stock["remaining"] + sum(p["reserved"] + p["sold"] for p in pools.values()) == 60
            assert pools["distribution"]["remaining"] == 0 and pools["group"]["remaining"] == 20
            report = await s.reconcile(campaign)
            assert report.problems == [] and report.orders == 28, report.summary()
            assert report.paid_fen > 0

        # each campaign's keys are on its own shard: that node answers for them by itself
        for campaign in campaigns:
            keys = CampaignKeys(key_prefix, campaign)
            node = cluster.get_node_from_key(keys.pools)
            assert node is not None
            async with Redis(host=node.host, port=int(node.port)) as direct:
                assert await direct.exists(keys.pools, keys.stream, keys.orders) == 3
        assert shard(campaigns[0]) != shard(campaigns[1])
