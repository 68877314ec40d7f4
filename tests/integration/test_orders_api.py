"""Orders through the HTTP API: the three modes, groups, limits, idempotency."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tests.campaigns import campaign_text
from tests.conftest import stream_events
from tests.integration.conftest import GROUP_OPEN, Serve

ORDERS = "/api/v1/campaigns/mid-autumn/orders"


async def test_presale_order_reserves_from_the_presale_pool(serve: Serve) -> None:
    async with serve() as s:
        alice = await s.login("alice")
        r = await s.client.post(ORDERS, json={"mode": "presale", "qty": 2}, headers=alice)
        assert r.status_code == 201, r.text
        order = r.json()
        assert order["status"] == "awaiting_payment"
        assert order["amount_due_fen"] == 2 * 5000
        assert order["pay_before"].startswith("2026-09-01T20:15:0")  # 15 minutes to pay
        stock = await s.stock()
        assert stock["pools"]["presale"]["reserved"] == 2
        assert stock["remaining"] == 98


async def test_direct_order_borrows_past_its_pool_down_to_the_floor(serve: Serve) -> None:
    # 100 units: presale 20, group 50, distribution 30; direct may borrow group down to 45.
    async with serve(campaign_text(100, 0, 45)) as s:
        headers = [await s.login(f"u{i}") for i in range(4)]
        for h in headers[:3]:
            assert (
                await s.client.post(ORDERS, json={"mode": "direct", "qty": 10}, headers=h)
            ).status_code == 201
        r = await s.client.post(ORDERS, json={"mode": "direct", "qty": 6}, headers=headers[3])
        assert r.status_code == 409 and r.json()["error"] == "sold_out"
        r = await s.client.post(ORDERS, json={"mode": "direct", "qty": 5}, headers=headers[3])
        assert r.status_code == 201
        pools = (await s.stock())["pools"]
        assert pools["distribution"]["borrowed"] == 5 and pools["group"]["lent"] == 5
        assert pools["group"]["remaining"] == 45


async def test_per_user_limit(serve: Serve) -> None:
    async with serve() as s:
        alice = await s.login("alice")
        assert (
            await s.client.post(ORDERS, json={"mode": "presale", "qty": 5}, headers=alice)
        ).status_code == 201
        r = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=alice)
        assert r.status_code == 409
        assert r.json() == {
            "error": "limit_reached",
            "field": "qty",
            "message": r.json()["message"],
        }


async def test_window_closed_outside_the_modes_window(serve: Serve) -> None:
    async with serve() as s:
        r = await s.client.post(
            ORDERS,
            json={"mode": "group", "qty": 1, "open_group": True},
            headers=await s.login("alice"),
        )
        assert r.status_code == 409 and r.json()["error"] == "window_closed"
        assert r.json()["field"] == "mode"


async def test_open_and_join_a_group(serve: Serve) -> None:
    text = campaign_text(100, 0, 0).replace("capacity = 100", "capacity = 10")
    async with serve(text, clock_start=GROUP_OPEN) as s:
        leader = await s.login("leader")
        r = await s.client.post(
            ORDERS, json={"mode": "group", "qty": 1, "open_group": True}, headers=leader
        )
        assert r.status_code == 201, r.text
        code = r.json()["group_code"]
        assert r.json()["amount_due_fen"] == 32_800
        again = await s.client.post(
            ORDERS, json={"mode": "group", "qty": 1, "group_code": code}, headers=leader
        )
        assert again.json()["error"] == "already_in_group"
        for i in range(9):
            joined = await s.client.post(
                ORDERS,
                json={"mode": "group", "qty": 1, "group_code": code},
                headers=await s.login(f"m{i}"),
            )
            assert joined.status_code == 201 and joined.json()["group_code"] == code
        full = await s.client.post(
            ORDERS,
            json={"mode": "group", "qty": 1, "group_code": code},
            headers=await s.login("late"),
        )
        assert full.status_code == 409 and full.json()["error"] == "group_full"
        missing = await s.client.post(
            ORDERS,
            json={"mode": "group", "qty": 1, "group_code": "ZZZZZZZZ"},
            headers=await s.login("late"),
        )
        assert missing.status_code == 404 and missing.json()["field"] == "group_code"
        assert (await s.stock())["pools"]["group"]["reserved"] == 10


async def test_idempotency_key_replays_the_first_answer(
    serve: Serve, redis: Redis, key_prefix: str
) -> None:
    async with serve() as s:
        alice = {**await s.login("alice"), "Idempotency-Key": "k-1"}
        first = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=alice)
        second = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=alice)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        other = await s.client.post(ORDERS, json={"mode": "presale", "qty": 2}, headers=alice)
        assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
        assert (await s.stock())["pools"]["presale"]["reserved"] == 1
        stream = f"{key_prefix}:{{mid-autumn}}:stream"
        assert await redis.xlen(stream) == 1


async def test_idempotency_key_replays_a_refusal_too(serve: Serve) -> None:
    async with serve(campaign_text(5, 0, 0)) as s:  # presale pool: 1 unit
        bob = {**await s.login("bob"), "Idempotency-Key": "k-2"}
        refused = await s.client.post(ORDERS, json={"mode": "presale", "qty": 2}, headers=bob)
        assert refused.json()["error"] == "sold_out"
        replay = await s.client.post(ORDERS, json={"mode": "presale", "qty": 2}, headers=bob)
        assert replay.json() == refused.json()


@pytest.mark.parametrize("mode", ["presale", "direct"])
async def test_stream_entry_per_accepted_order(
    serve: Serve, redis: Redis, key_prefix: str, mode: str
) -> None:
    async with serve() as s:
        h = await s.login("carol")
        ref = await s.community()
        r = await s.client.post(ORDERS, json={"mode": mode, "qty": 1, "ref": ref}, headers=h)
        assert r.status_code == 201 and r.json()["ref"] == ref
        events = await stream_events(redis, key_prefix)
        assert [e["type"] for e in events] == ["reserved"]
        assert events[0]["order_id"] == r.json()["order_id"]
