"""Rate limits at the edge: per viewer and per client address on sessions, orders and
payment opens; 429 with Retry-After, and a refused request changes nothing."""

from __future__ import annotations

import pytest

from server.settings import parse_rate_limits
from tests.integration.conftest import Serve

pytestmark = pytest.mark.redis

ORDERS = "/api/v1/campaigns/mid-autumn/orders"


async def test_a_viewer_past_their_share_of_orders_gets_429(serve: Serve) -> None:
    limits = parse_rate_limits("orders.viewer=1/3,orders.address=off")
    async with serve(rate_limits=limits) as s:
        alice, bob = await s.login("alice"), await s.login("bob")
        before = await s.stock()
        statuses = [
            (await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=alice))
            for _ in range(5)
        ]
        assert [r.status_code for r in statuses] == [201, 201, 201, 429, 429]
        refused = statuses[-1]
        assert refused.json()["error"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert (await s.stock())["remaining"] == before["remaining"] - 3
        assert (
            await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=bob)
        ).status_code == 201


async def test_an_address_past_its_share_gets_429_whoever_asks(serve: Serve) -> None:
    limits = parse_rate_limits("sessions.address=1/2,sessions.viewer=off")
    async with serve(rate_limits=limits) as s:
        answers = [
            await s.client.post("/api/v1/sessions", json={"user_id": f"u{i}"}) for i in range(3)
        ]
        assert [r.status_code for r in answers] == [201, 201, 429]


async def test_payment_opens_are_limited_per_viewer(serve: Serve) -> None:
    limits = parse_rate_limits("payments.viewer=1/2")
    async with serve(rate_limits=limits) as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="presale", qty=1)
        url = f"/api/v1/orders/{order['order_id']}/payments"
        answers = [await s.client.post(url, headers=alice) for _ in range(3)]
        assert [r.status_code for r in answers] == [201, 201, 429]
