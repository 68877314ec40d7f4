"""A flash spike through the HTTP API: 20x more order attempts than units, many
concurrent clients. Accepted equals exactly what the pools allow, every excess attempt
is a 409 sold_out, stream entries equal accepted orders, and no unit is lost."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
from redis.asyncio import Redis

from tests.campaigns import campaign_text
from tests.conftest import stream_events
from tests.integration.conftest import Serve

ORDERS = "/api/v1/campaigns/mid-autumn/orders"
USERS = 120
ATTEMPTS_PER_USER = 10  # 1,200 attempts for 60 units


async def test_spike_sells_exactly_what_the_pools_allow(
    serve: Serve, redis: Redis, key_prefix: str
) -> None:
    # 60 units: presale 12, group 30, distribution 18; direct may borrow group down to 20.
    async with serve(campaign_text(60, 0, 20)) as s:
        logins = await asyncio.gather(*(s.login(f"v{i}") for i in range(USERS)))
        # aiohttp, not the harness's httpx: httpx's pool, not the server, limits a spike.
        connector = aiohttp.TCPConnector(limit=USERS)
        async with aiohttp.ClientSession(s.base_url, connector=connector) as spike:

            async def viewer(i: int) -> list[tuple[int, str | None, str]]:
                mode = "presale" if i % 2 else "direct"
                results = []
                for _ in range(ATTEMPTS_PER_USER):
                    body = {"mode": mode, "qty": 1}
                    async with spike.post(ORDERS, json=body, headers=logins[i]) as r:
                        results.append((r.status, (await r.json()).get("error"), mode))
                return results

            batches = await asyncio.gather(*(viewer(i) for i in range(USERS)))
        outcomes = [outcome for batch in batches for outcome in batch]

        statuses = Counter((status, error) for status, error, _ in outcomes)
        assert set(statuses) <= {(201, None), (409, "sold_out"), (409, "limit_reached")}, statuses
        accepted = Counter(mode for status, _, mode in outcomes if status == 201)
        assert accepted == {"presale": 12, "direct": 18 + (30 - 20)}
        assert statuses[(409, "sold_out")] + statuses[(409, "limit_reached")] == 1200 - 40

        order_ids = [event["order_id"] for event in await stream_events(redis, key_prefix)]
        assert len(order_ids) == len(set(order_ids)) == 40

        stock = await s.stock()
        pools = stock["pools"]
        assert stock["total"] == 60
        assert stock["remaining"] + sum(p["reserved"] + p["sold"] for p in pools.values()) == 60
        assert (pools["presale"]["remaining"], pools["distribution"]["remaining"]) == (0, 0)
        assert pools["group"]["remaining"] == 20  # the floor held
