"""Bad input on the lifecycle endpoints: a 4xx naming the field, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Serve
from tests.server_harness import LiveServer


async def _snapshot(s: LiveServer, headers: dict[str, str]) -> tuple[Any, ...]:
    return await s.stock(), await s.my_orders(headers)


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/orders/NOT-AN-ID/payments", {}, 404, "order_id"),
        ("/api/v1/orders/other-campaign.1/payments", {}, 404, "order_id"),
        ("/api/v1/orders/mid-autumn.999/payments", {}, 404, "order_id"),
        ("/api/v1/orders/{oid}/payments", {"stage": "full"}, 422, "stage"),
        ("/api/v1/orders/{oid}/payments", {"amount_fen": 1}, 422, "amount_fen"),
    ],
)
async def test_bad_payment_openings(
    serve_with_ledger: Serve, path: str, body: Any, status: int, field: str
) -> None:
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="direct", qty=1)
        before = await _snapshot(s, alice)
        r = await s.client.post(path.format(oid=order["order_id"]), json=body, headers=alice)
        assert (r.status_code, r.json()["field"]) == (status, field), r.text
        assert await _snapshot(s, alice) == before


async def test_someone_elses_order_is_not_found(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        order = await s.order(await s.login("alice"), mode="direct", qty=1)
        r = await s.client.post(
            f"/api/v1/orders/{order['order_id']}/payments", headers=await s.login("mallory")
        )
        assert (r.status_code, r.json()["field"]) == (404, "order_id")
        assert (await s.client.get("/api/v1/me/orders")).status_code == 401


@pytest.mark.parametrize(
    ("suffix", "body", "status", "field"),
    [
        ("refund", {"reason": ""}, 422, "reason"),
        ("refund", {"reason": 5}, 422, "reason"),
        ("refund", {"amount_fen": 100}, 422, "amount_fen"),
        ("fulfilment", {}, 422, "status"),
        ("fulfilment", {"status": "teleported"}, 422, "status"),
        ("fulfilment", {"status": "completed"}, 422, "status"),
        ("fulfilment", {"status": "allocated", "warehouse": "bad name"}, 422, "warehouse"),
        ("fulfilment", {"status": "shipped"}, 409, "status"),
    ],
)
async def test_bad_ops_order_actions(
    serve_with_ledger: Serve, suffix: str, body: Any, status: int, field: str
) -> None:
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="direct", qty=1)
        await s.pay(alice, order["order_id"])
        before = await _snapshot(s, alice)
        url = f"/api/v1/ops/orders/{order['order_id']}/{suffix}"
        r = await s.client.post(url, json=body, headers=s.ops)
        assert (r.status_code, r.json()["field"]) == (status, field), r.text
        assert (await s.client.post(url, json=body, headers=alice)).status_code == 403
        assert await _snapshot(s, alice) == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("mode=flash", "mode"),
        ("campaign_id=Bad!", "campaign_id"),
        ("user_id=a%20b", "user_id"),
        ("colour=red", "colour"),
    ],
)
async def test_bad_ops_order_queries(serve_with_ledger: Serve, query: str, field: str) -> None:
    async with serve_with_ledger() as s:
        r = await s.client.get(f"/api/v1/ops/orders?{query}", headers=s.ops)
        assert (r.status_code, r.json()["field"]) == (422, field), r.text


async def test_refund_of_an_ended_order_is_a_conflict(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="direct", qty=1)
        url = f"/api/v1/ops/orders/{order['order_id']}/refund"
        first = await s.client.post(url, json={}, headers=s.ops)
        assert first.status_code == 200 and first.json()["status"] == "cancelled"
        again = await s.client.post(url, json={}, headers=s.ops)
        assert again.status_code == 409 and again.json()["error"] == "order_ended"
        assert (await s.client.get("/api/v1/groups/abc")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "ops", "status", "field"),
    [
        ("POST", "/api/v1/distributors", {"upline": "bad"}, False, 422, "upline"),
        ("POST", "/api/v1/distributors", {"upline": "DAAAAAAA"}, False, 422, "upline"),
        ("POST", "/api/v1/distributors", {"campaign_id": "X!"}, False, 422, "campaign_id"),
        ("POST", "/api/v1/distributors", {"level": 1}, False, 422, "level"),
        ("POST", "/api/v1/ops/communities", {"name": ""}, True, 422, "name"),
        ("POST", "/api/v1/ops/communities", {}, True, 422, "name"),
        ("PUT", "/api/v1/ops/users/alice", {"member_tier": "diamond"}, True, 422, "member_tier"),
        ("PUT", "/api/v1/ops/users/alice", {}, True, 422, "member_tier"),
        ("PUT", "/api/v1/ops/users/a%20b", {"member_tier": None}, True, 422, "user_id"),
        ("POST", "/api/v1/ops/distributors/DNOSUCH7/approve", {}, True, 404, "code"),
        ("GET", "/api/v1/campaigns/nope/quote", None, False, 404, "campaign_id"),
        ("GET", "/api/v1/distributors/me", None, False, 404, None),
        ("GET", "/api/v1/ops/reports/finance?campaign_id=nope", None, True, 404, "campaign_id"),
    ],
)
async def test_bad_distribution_input(
    serve_with_ledger: Serve,
    method: str,
    path: str,
    body: Any,
    ops: bool,
    status: int,
    field: str | None,
) -> None:
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        before = (await s.client.get("/api/v1/campaigns/mid-autumn/quote", headers=alice)).json()
        r = await s.client.request(method, path, json=body, headers=s.ops if ops else alice)
        assert (r.status_code, r.json()["field"]) == (status, field), r.text
        after = (await s.client.get("/api/v1/campaigns/mid-autumn/quote", headers=alice)).json()
        assert after == before
        if ops:  # and ops calls refuse viewers
            assert (
                await s.client.request(method, path, json=body, headers=alice)
            ).status_code == 403
