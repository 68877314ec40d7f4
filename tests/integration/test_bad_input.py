"""Bad input on every field of every endpoint: a 4xx naming the field, and no change."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.campaigns import CANONICAL
from tests.integration.conftest import Serve
from tests.server_harness import LiveServer

ORDERS = "/api/v1/campaigns/mid-autumn/orders"

ORDER_CASES: list[tuple[Any, int, str | None]] = [
    ({"qty": 1}, 422, "mode"),
    ({"mode": "flash", "qty": 1}, 422, "mode"),
    ({"mode": 3, "qty": 1}, 422, "mode"),
    ({"mode": "presale"}, 422, "qty"),
    ({"mode": "presale", "qty": 0}, 422, "qty"),
    ({"mode": "presale", "qty": -1}, 422, "qty"),
    ({"mode": "presale", "qty": 101}, 422, "qty"),
    ({"mode": "presale", "qty": "1"}, 422, "qty"),
    ({"mode": "presale", "qty": 1.5}, 422, "qty"),
    ({"mode": "presale", "qty": True}, 422, "qty"),
    ({"mode": "presale", "qty": 1, "group_code": "ABCD1234"}, 422, "group_code"),
    ({"mode": "presale", "qty": 1, "open_group": True}, 422, "open_group"),
    ({"mode": "group", "qty": 1}, 422, "group_code"),
    ({"mode": "group", "qty": 1, "group_code": "abc"}, 422, "group_code"),
    ({"mode": "group", "qty": 1, "group_code": "ABCD1234", "open_group": True}, 422, "group_code"),
    ({"mode": "group", "qty": 1, "open_group": "yes"}, 422, "open_group"),
    ({"mode": "direct", "qty": 1, "ref": "has space"}, 422, "ref"),
    ({"mode": "direct", "qty": 1, "ref": "x" * 65}, 422, "ref"),
    ({"mode": "direct", "qty": 1, "ref": "DNOSUCH7"}, 422, "ref"),
    ({"mode": "direct", "qty": 1, "offer": "depositor_group"}, 422, "offer"),
    ({"mode": "group", "qty": 1, "offer": "vip"}, 422, "offer"),
    (
        {"mode": "group", "qty": 1, "offer": "depositor_group", "open_group": True},
        422,
        "open_group",
    ),
    ({"mode": "direct", "qty": 1, "coupon": "FREE"}, 422, "coupon"),
    ([1, 2], 422, None),
]


async def _state(s: LiveServer, redis: Redis, key_prefix: str) -> tuple[Any, ...]:
    stream = f"{key_prefix}:{{mid-autumn}}:stream"
    campaign = (await s.client.get("/api/v1/campaigns/mid-autumn")).json()
    return await s.stock(), await redis.xlen(stream), campaign["version"], campaign["now"][:16]


@pytest.mark.parametrize(("body", "status", "field"), ORDER_CASES)
async def test_bad_order_bodies(
    serve: Serve, redis: Redis, key_prefix: str, body: Any, status: int, field: str | None
) -> None:
    async with serve() as s:
        headers = await s.login("alice")
        before = await _state(s, redis, key_prefix)
        r = await s.client.post(ORDERS, json=body, headers=headers)
        assert (r.status_code, r.json()["field"]) == (status, field), r.text
        assert set(r.json()) == {"error", "message", "field"}
        assert await _state(s, redis, key_prefix) == before


async def test_bad_requests_outside_the_body(serve: Serve, redis: Redis, key_prefix: str) -> None:
    async with serve() as s:
        good = {"mode": "presale", "qty": 1}
        alice = await s.login("alice")
        before = await _state(s, redis, key_prefix)
        cases = [
            (await s.client.post(ORDERS, content=b"{not json", headers=alice), 400, None),
            (await s.client.post(ORDERS, json=good), 401, "Authorization"),
            (
                await s.client.post(ORDERS, json=good, headers={"Authorization": "Bearer junk"}),
                401,
                "Authorization",
            ),
            (
                await s.client.post(ORDERS, json=good, headers={"Authorization": "Basic x"}),
                401,
                "Authorization",
            ),
            (
                await s.client.post(ORDERS, json=good, headers={**alice, "Idempotency-Key": "a b"}),
                422,
                "Idempotency-Key",
            ),
            (
                await s.client.post("/api/v1/campaigns/nope/orders", json=good, headers=alice),
                404,
                "campaign_id",
            ),
            (await s.client.post(ORDERS, content=b"x" * 70_000, headers=alice), 413, None),
        ]
        for response, status, field in cases:
            assert (response.status_code, response.json()["field"]) == (status, field), (
                response.text
            )
        assert await _state(s, redis, key_prefix) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "user_id"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "a b"}, "user_id"),
        ({"user_id": 7}, "user_id"),
        ({"user_id": "x" * 65}, "user_id"),
        ({"user_id": "a", "role": "ops"}, "role"),
    ],
)
async def test_bad_sessions(serve: Serve, body: Any, field: str) -> None:
    async with serve() as s:
        r = await s.client.post("/api/v1/sessions", json=body)
        assert (r.status_code, r.json()["field"]) == (422, field)


async def test_sessions_off_without_demo_login(serve: Serve) -> None:
    async with serve(demo_login=False) as s:
        r = await s.client.post("/api/v1/sessions", json={"user_id": "a"})
        assert r.status_code == 403 and r.json()["error"] == "demo_login_disabled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "advance_s"),
        ({"advance_s": 0}, "advance_s"),
        ({"advance_s": -5}, "advance_s"),
        ({"advance_s": "60"}, "advance_s"),
        ({"set": "yesterday"}, "set"),
        ({"set": "2026-09-02T00:00:00"}, "set"),
        ({"advance_s": 60, "set": "2026-09-03T00:00:00+08:00"}, "advance_s"),
        ({"advance_s": 60, "speed": 0}, "speed"),
        ({"advance_s": 60, "warp": 9}, "warp"),
    ],
)
async def test_bad_clock_moves(serve: Serve, body: Any, field: str) -> None:
    async with serve() as s:
        before = (await s.client.get("/api/v1/clock")).json()["now"][:16]
        r = await s.client.post("/api/v1/ops/clock", json=body, headers=s.ops)
        assert (r.status_code, r.json()["field"]) == (422, field), r.text
        assert (await s.client.get("/api/v1/clock")).json()["now"][:16] == before


async def test_clock_refuses_to_go_back_and_non_ops(serve: Serve) -> None:
    async with serve() as s:
        back = await s.client.post(
            "/api/v1/ops/clock", json={"set": "2026-08-01T00:00:00+08:00"}, headers=s.ops
        )
        assert back.status_code == 409 and back.json()["error"] == "clock_backwards"
        viewer = await s.login("alice")
        r = await s.client.post("/api/v1/ops/clock", json={"advance_s": 60}, headers=viewer)
        assert r.status_code == 403 and r.json()["field"] == "Authorization"


async def test_clock_cannot_move_when_real(serve: Serve) -> None:
    async with serve(clock="real", demo_login=False) as s:
        r = await s.client.post("/api/v1/ops/clock", json={"advance_s": 60}, headers=s.ops)
        assert r.status_code == 409 and r.json()["error"] == "clock_not_simulated"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('id = "mid-autumn"', 'id = "other"', "id"),
        ("total_units = 10000", "total_units = -3", "sku.total_units"),
        ("deposit_fen = 5000", 'deposit_fen = "50"', "presale.deposit_fen"),
        ("share_pct = 20", "share_pct = 10", "stock.pools"),
        ("[sku]", "[sku", None),
    ],
)
async def test_bad_campaign_uploads(
    serve: Serve, redis: Redis, key_prefix: str, old: str, new: str, field: str | None
) -> None:
    async with serve() as s:
        before = await _state(s, redis, key_prefix)
        r = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn",
            content=CANONICAL.replace(old, new, 1).encode(),
            headers=s.ops,
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        assert await _state(s, redis, key_prefix) == before


async def test_campaign_upload_needs_ops(serve: Serve) -> None:
    async with serve() as s:
        url = "/api/v1/ops/campaigns/mid-autumn"
        assert (await s.client.put(url, content=CANONICAL.encode())).status_code == 401
        viewer = await s.login("alice")
        r = await s.client.put(url, content=CANONICAL.encode(), headers=viewer)
        assert r.status_code == 403
        r = await s.client.put(url, content=b"\xff\xfe", headers=s.ops)
        assert r.status_code == 422
