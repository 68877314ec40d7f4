"""The sold-out lane answers a known sold-out order before routing, and nothing else: every
other problem with an order request gets the route's own answer, even while the campaign is
known sold out, and the lane's refusal is the script's refusal byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from server.gateway.sold_out_lane import order_campaign
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


async def test_the_lane_refuses_only_what_the_route_would_refuse_sold_out(
    serve: Serve, redis: Redis, key_prefix: str
) -> None:
    async with serve(campaign_text(10, 0, 0)) as s:  # the presale pool holds 2 units
        buyers = [await s.login(f"buyer-{i}") for i in range(3)]
        assert (await answer(s, buyers[0]))[0] == (await answer(s, buyers[1]))[0] == 201
        from_script = await answer(s, buyers[2])  # the script refuses and publishes
        assert from_script[0] == 409

        async def refused_in_process() -> tuple[tuple[int, bytes], int]:
            before = await refusals_in_redis(redis, key_prefix)
            refused = await answer(s, buyers[2])
            return refused, await refusals_in_redis(redis, key_prefix) - before

        await eventually(refused_in_process, lambda seen: seen == (from_script, 0))

        late = await s.login("late")
        problems: list[tuple[dict[str, str], Any, str, int, str]] = [
            ({}, PRESALE, ORDERS, 401, "unauthorized"),
            ({"Authorization": "Bearer forged.token"}, PRESALE, ORDERS, 401, "unauthorized"),
            (late, PRESALE, "/api/v1/campaigns/nope/orders", 404, "not_found"),
            (late, {"mode": "presale", "qty": 0}, ORDERS, 422, "invalid"),
            (late, {"mode": "presale"}, ORDERS, 422, "invalid"),
            (late, {"mode": "presale", "qty": 1, "extra": 1}, ORDERS, 422, "invalid"),
            (late, {"mode": "presale", "qty": 1, "open_group": True}, ORDERS, 422, "invalid"),
            (late, {"mode": "group", "qty": 1, "open_group": True}, ORDERS, 409, "window_closed"),
            (late | {"Idempotency-Key": "bad key!"}, PRESALE, ORDERS, 422, "invalid"),
        ]
        for headers, body, path, status, code in problems:
            r = await s.client.post(path, json=body, headers=headers)
            assert (r.status_code, r.json()["error"]) == (status, code), (body, headers, r.text)
        r = await s.client.post(ORDERS, content=b"{not json", headers=late)
        assert (r.status_code, r.json()["error"]) == (400, "bad_json")
        r = await s.client.post(ORDERS, content=b" " * (64 * 1024 + 1), headers=late)
        assert (r.status_code, r.json()["error"]) == (422, "too_large")

        # A keyed order still reaches the script (which counts its refusal) and is refused there.
        before = await refusals_in_redis(redis, key_prefix)
        keyed = await answer(s, late | {"Idempotency-Key": "late-1"})
        assert keyed == from_script
        assert await refusals_in_redis(redis, key_prefix) == before + 1


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
