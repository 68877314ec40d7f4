"""Bad input on fulfilment's endpoints: a 4xx naming the field, and nothing changed (the
order stream, the address book, the warehouses)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from tests.integration.conftest import Serve
from tests.server_harness import LiveServer

GOOD = {
    "recipient": "张三",
    "phone": "13812345678",
    "province": "440000",
    "city": "440300",
    "district": "440305",
    "street": "科技园南区 8 栋",
}
ADDRESS_CASES: list[tuple[dict[str, Any], int, str]] = [
    ({k: v for k, v in GOOD.items() if k != "recipient"}, 422, "recipient"),
    ({**GOOD, "recipient": 7}, 422, "recipient"),
    ({**GOOD, "recipient": "  "}, 422, "recipient"),
    ({**GOOD, "phone": "12345678901"}, 422, "phone"),
    ({**GOOD, "phone": "1381234567x"}, 422, "phone"),
    ({**GOOD, "province": "999999"}, 422, "province"),
    ({**GOOD, "province": "44"}, 422, "province"),
    ({**GOOD, "city": ""}, 422, "city"),
    ({**GOOD, "city": "510100"}, 422, "city"),
    ({**GOOD, "district": ""}, 422, "district"),
    ({**GOOD, "district": "440106"}, 422, "district"),
    ({**GOOD, "street": "短"}, 422, "street"),
    ({**GOOD, "street": "路" * 121}, 422, "street"),
    ({**GOOD, "nickname": "x"}, 422, "nickname"),
]


async def _state(s: LiveServer, redis: Redis, key_prefix: str, who: dict[str, str]) -> Any:
    book = (await s.client.get("/api/v1/me/addresses", headers=who)).json()
    houses = await redis.hgetall(f"{key_prefix}:{{mid-autumn}}:warehouses")
    return await redis.xlen(f"{key_prefix}:{{mid-autumn}}:stream"), book, houses


async def test_fulfilment_refuses_bad_input_and_changes_nothing(
    serve_with_ledger: Serve, redis: Redis, key_prefix: str
) -> None:
    async with serve_with_ledger() as s:
        alice, bob = await s.login("alice"), await s.login("bob")
        order = await s.order(alice, mode="direct", qty=2)
        await s.pay(alice, order["order_id"])
        oid = order["order_id"]
        bobs = await s.address(bob)
        await s.ledger_caught_up()
        before = await _state(s, redis, key_prefix, alice)

        async def refused(method: str, url: str, status: int, field: str | None, **kw: Any) -> None:
            r = await s.client.request(method, url, **kw)
            assert (r.status_code, r.json().get("field")) == (status, field), (url, kw, r.text)

        for body, status, field in ADDRESS_CASES:
            await refused("POST", "/api/v1/me/addresses", status, field, json=body, headers=alice)
        await refused(
            "PUT", f"/api/v1/me/addresses/{bobs}", 404, "address_id", json=GOOD, headers=alice
        )
        address_url = f"/api/v1/orders/{oid}/address"
        await refused(
            "PUT", address_url, 422, "address_id", json={"address_id": "x"}, headers=alice
        )
        await refused(
            "PUT", address_url, 404, "address_id", json={"address_id": bobs}, headers=alice
        )
        route = f"/api/v1/ops/orders/{oid}/route"
        route_cases: list[tuple[dict[str, Any], int, str]] = [
            ({"route": []}, 422, "route"),
            ({"route": [{"warehouse": "mars", "units": 2}]}, 422, "route[0].warehouse"),
            ({"route": [{"warehouse": "shanghai", "units": 0}]}, 422, "route.0.units"),
            ({"route": [{"warehouse": "shanghai", "units": 1}]}, 409, "route"),  # no address
        ]
        for body, status, field in route_cases:
            await refused("POST", route, status, field, json=body, headers=s.ops)
        claim = f"/api/v1/orders/{oid}/after-sale"
        for form, field in [
            ({"reason": "bored", "units": "1"}, "reason"),
            ({"reason": "damaged", "units": "one"}, "units"),
            ({"reason": "damaged", "units": "1", "text": "长" * 401}, "text"),
        ]:
            await refused("POST", claim, 422, field, data=form, headers=alice)
        await refused(
            "POST", claim, 409, None, data={"reason": "damaged", "units": "1"}, headers=alice
        )
        decide = "/api/v1/ops/after-sales/S0000000000000000/approve"
        await refused("POST", decide, 422, "reason", json={"units": 1}, headers=s.ops)
        await refused(
            "POST", decide, 422, "units", json={"units": -1, "reason": "x"}, headers=s.ops
        )
        await refused("POST", decide, 404, "request_id", json={"reason": "x"}, headers=s.ops)
        assert await _state(s, redis, key_prefix, alice) == before
