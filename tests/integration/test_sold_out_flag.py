"""The in-process sold-out flag: once a mode's pools are empty, every gateway refuses its
unkeyed orders without asking Redis; when units come back, the scripts say so and every
gateway sells again. A keyed retry of an order placed before the sell-out still replays."""

from __future__ import annotations

import contextlib

from redis.asyncio import Redis

from tests.campaigns import campaign_text
from tests.integration.conftest import Serve
from tests.server_harness import LiveServer, eventually

ORDERS = "/api/v1/campaigns/mid-autumn/orders"


async def attempt(s: LiveServer, headers: dict[str, str], **extra: str) -> tuple[int, str]:
    r = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=headers | extra)
    return r.status_code, r.json().get("error") or r.json()["order_id"]


async def refusals_in_redis(redis: Redis, key_prefix: str) -> int:
    raw = await redis.hget(f"{key_prefix}:{{mid-autumn}}:counters", "refused.sold_out")
    return int(raw or 0)


async def test_every_gateway_refuses_in_process_and_sells_again_after_a_release(
    serve: Serve, redis: Redis, key_prefix: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        # 10 units: the presale pool holds 2 and borrows from nobody.
        a = await stack.enter_async_context(serve(campaign_text(10, 0, 0)))
        b = await stack.enter_async_context(serve(campaign_text(10, 0, 0)))
        buyer = await a.login("early-bird")
        key = {"Idempotency-Key": "early-bird-1"}
        first = await attempt(a, buyer, **key)
        second = await attempt(a, await a.login("second"))
        assert first[0] == second[0] == 201
        late = await b.login("late")
        assert await attempt(a, late) == (409, "sold_out")  # the script refuses, and says so

        async def b_refuses_alone() -> tuple[tuple[int, str], int]:
            before = await refusals_in_redis(redis, key_prefix)
            answer = await attempt(b, late)
            return answer, await refusals_in_redis(redis, key_prefix) - before

        # b heard the message: its refusal never reached the script's refusal counter
        await eventually(b_refuses_alone, lambda seen: seen == ((409, "sold_out"), 0))
        assert await attempt(b, buyer, **key) == first  # a keyed retry still replays

        r = await a.client.post(f"/api/v1/ops/orders/{second[1]}/refund", json={}, headers=a.ops)
        assert r.status_code == 200, r.text
        sold = await eventually(lambda: attempt(b, late), lambda answer: answer[0] == 201)
        assert sold[0] == 201  # the released unit sells again, through the other gateway
