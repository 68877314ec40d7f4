"""The order lane serves order requests before routing and answers exactly what the route
answers: two gateways on one Redis, one with the lane and one leaving orders to the router,
give the same status and the same bytes for every bad request, for a sold-out refusal
(the lane's from memory, without Redis) and for a keyed retry's replay."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from redis.asyncio import Redis

from server.gateway.order_lane import order_campaign
from tests.campaigns import campaign_text
from tests.integration.conftest import Serve
from tests.integration.test_sold_out_flag import refusals_in_redis
from tests.server_harness import LiveServer, eventually

ORDERS = "/api/v1/campaigns/mid-autumn/orders"
PRESALE = {"mode": "presale", "qty": 1}


async def answer(
    s: LiveServer, headers: dict[str, str], body: Any = PRESALE, path: str = ORDERS
) -> tuple[int, bytes]:
    r = await s.client.post(path, json=body, headers=headers)
    return r.status_code, r.content


async def test_the_lane_answers_what_the_route_answers(
    serve: Serve, redis: Redis, key_prefix: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        # 10 units: the presale pool holds 2 and borrows from nobody.
        lane = await stack.enter_async_context(serve(campaign_text(10, 0, 0)))
        route = await stack.enter_async_context(serve(campaign_text(10, 0, 0), order_lane=False))
        first, second = await lane.login("first"), await route.login("second")
        key = {"Idempotency-Key": "first-1"}
        placed = await answer(lane, first | key)
        assert placed[0] == (await answer(route, second))[0] == 201
        assert await answer(route, first | key) == placed  # the route replays the lane's order

        late = await lane.login("late")
        from_script = await answer(route, late)  # the script refuses, and says so
        assert from_script[0] == 409

        async def lane_refuses_alone() -> tuple[tuple[int, bytes], int]:
            before = await refusals_in_redis(redis, key_prefix)
            refused = await answer(lane, late)
            return refused, await refusals_in_redis(redis, key_prefix) - before

        await eventually(lane_refuses_alone, lambda seen: seen == (from_script, 0))
        assert await answer(lane, first | key) == placed  # a keyed retry still replays

        problems: list[tuple[dict[str, str], Any, str]] = [
            ({}, PRESALE, ORDERS),
            ({"Authorization": "Bearer forged.token"}, PRESALE, ORDERS),
            (late, PRESALE, "/api/v1/campaigns/nope/orders"),
            (late, {"mode": "presale", "qty": 0}, ORDERS),
            (late, {"mode": "presale"}, ORDERS),
            (late, {"mode": "presale", "qty": 1, "extra": 1}, ORDERS),
            (late, {"mode": "presale", "qty": 1, "open_group": True}, ORDERS),
            (late, {"mode": "group", "qty": 1, "open_group": True}, ORDERS),
            (late, {"mode": "presale", "qty": 1, "ref": "no-such-link"}, ORDERS),
            (late | {"Idempotency-Key": "bad key!"}, PRESALE, ORDERS),
        ]
        for headers, body, path in problems:
            from_lane = await answer(lane, headers, body, path)
            assert from_lane[0] >= 400 and from_lane == await answer(route, headers, body, path)
        for raw in (b"{not json", b" " * (64 * 1024 + 1)):
            a, b = [await s.client.post(ORDERS, content=raw, headers=late) for s in (lane, route)]
            assert a.status_code in (400, 413)
            assert (a.status_code, a.content) == (b.status_code, b.content)


@pytest.mark.parametrize(
    ("method", "path", "campaign"),
    [
        ("POST", "/api/v1/campaigns/mid-autumn/orders", "mid-autumn"),
        ("GET", "/api/v1/campaigns/mid-autumn/orders", None),
        ("POST", "/api/v1/campaigns//orders", None),
        ("POST", "/api/v1/campaigns/a/b/orders", None),
        ("POST", "/api/v1/campaigns/mid-autumn/orders/", None),
        ("POST", "/api/v2/campaigns/mid-autumn/orders", None),
    ],
)
def test_the_lane_takes_only_order_posts(method: str, path: str, campaign: str | None) -> None:
    scope = {"type": "http", "method": method, "path": path}
    assert order_campaign(scope) == campaign
