"""Shipping through the API: a tracking upload (refused whole when a row is bad), the
logistics provider's signed events, delivered starting the after-sale period by itself, and
the buyer's order list showing carrier, number and the latest event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from server.fulfilment.sandbox_courier import signed_event, tracking_no
from tests.conftest import LOGISTICS_SECRET
from tests.integration.conftest import Serve
from tests.server_harness import LiveServer

pytestmark = pytest.mark.usefixtures("ledger_url")
UPLOAD = "/api/v1/ops/shipments?campaign_id=mid-autumn"
AT = datetime.fromisoformat("2026-09-07T10:00:00+08:00")


async def _event(
    s: LiveServer, order_id: str, number: str, status: str, at: datetime = AT, **more: Any
) -> dict[str, Any]:
    body, headers = signed_event(LOGISTICS_SECRET, order_id, "SF", number, status, at, **more)
    r = await s.client.post("/api/v1/logistics/webhook", content=body, headers=headers)
    return {"status_code": r.status_code, **r.json()}


async def test_upload_tracking_then_the_courier_delivers(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        buyer = await s.login("buyer")
        orders = []
        for _ in range(3):
            order = await s.order(buyer, mode="direct", qty=1)
            await s.pay(buyer, order["order_id"])
            await s.ship_to(buyer, order["order_id"])
            orders.append(order["order_id"])
        unrouted = await s.order(buyer, mode="direct", qty=1)
        numbers = [tracking_no("SF", n) for n in range(3)]

        # One bad row (an order no warehouse holds yet): nothing ships, every bad row named.
        lines = [f"{oid},顺丰速运,{no}" for oid, no in zip(orders, numbers, strict=True)]
        bad = "订单号,快递公司,运单号\n" + "\n".join(
            [*lines, f"{unrouted['order_id']},SF,{tracking_no('SF', 9)}", "x.1,SF,12"]
        )
        r = await s.client.post(UPLOAD, content=bad.encode(), headers=s.ops)
        assert r.status_code == 422 and r.json()["error"] == "invalid_rows"
        assert [(p["line"], p["field"], p["error"]) for p in r.json()["problems"]] == [
            (6, "tracking_no", "bad_tracking"),
            (5, "order_id", "wrong_status"),
        ]
        mine = await s.my_orders(buyer)
        assert {mine[oid]["status"] for oid in orders} == {"allocated"}

        good = ("订单号,快递公司,运单号\n" + "\n".join(lines)).encode()
        r = await s.client.post(UPLOAD, content=good, headers=s.ops)
        assert r.json() == {"shipped": 3, "unchanged": 0, "corrected": 0, "changed_lines": []}
        r = await s.client.post(UPLOAD, content=good, headers=s.ops)  # uploaded again
        assert r.json() == {"shipped": 0, "unchanged": 3, "corrected": 0, "changed_lines": []}
        # A typo in one number, fixed while the parcel is on its way: the old number's events
        # no longer count.
        fixed = tracking_no("SF", 11)
        correction = f"订单号,快递公司,运单号\n{orders[1]},SF,{fixed}\n".encode()
        r = await s.client.post(UPLOAD, content=correction, headers=s.ops)
        assert (r.json()["corrected"], r.json()["shipped"]) == (1, 0)
        stale = await _event(s, orders[1], numbers[1], "in_transit")
        assert (stale["status_code"], stale["error"]) == (404, "wrong_shipment")
        assert (await _event(s, orders[1], fixed, "in_transit"))["result"] == "recorded"
        shipped = (await s.my_orders(buyer))[orders[0]]
        assert shipped["status"] == "shipped"
        assert shipped["shipment"]["carrier"] == "SF"
        assert shipped["shipment"]["tracking_no"] == numbers[0]

        first, number = orders[0], numbers[0]
        moving = await _event(s, first, number, "in_transit", text="【上海】运输中")
        assert (moving["status_code"], moving["result"]) == (200, "recorded")
        latest = (await s.my_orders(buyer))[first]["shipment"]["latest"]
        assert (latest["status"], latest["text"]) == ("in_transit", "【上海】运输中")
        again = await _event(s, first, number, "in_transit", text="【上海】运输中")
        assert again["result"] == "duplicate"
        wrong = await _event(s, first, tracking_no("SF", 7), "delivered")
        assert (wrong["status_code"], wrong["error"]) == (404, "wrong_shipment")
        body, headers = signed_event(LOGISTICS_SECRET, first, "SF", number, "delivered", AT)
        headers["X-Signature"] = headers["X-Signature"][:-2] + "00"
        r = await s.client.post("/api/v1/logistics/webhook", content=body, headers=headers)
        assert r.status_code == 401

        done = await _event(s, first, number, "delivered", text="已签收，签收人：本人")
        assert (done["result"], done["status"]) == ("recorded", "delivered")
        # An older event arriving late is recorded, but the latest stays the latest.
        late = await _event(s, first, number, "collected", AT - timedelta(days=1))
        assert late["result"] == "recorded"
        await s.advance(7 * 86_400 + 1)
        completed = await s.wait_for_status(buyer, first, "completed")
        assert completed["shipment"]["latest"]["status"] == "delivered"
        houses = await s.client.get("/api/v1/ops/warehouses?campaign_id=mid-autumn", headers=s.ops)
        assert sum(h["shipped"] for h in houses.json()["warehouses"]) == 3
        report = await s.reconcile()
        assert report.problems == [], report.problems


async def test_the_webhook_is_off_without_a_logistics_secret(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(logistics_secret="") as s:
        body, headers = signed_event(LOGISTICS_SECRET, "mid-autumn.1", "SF", "SF1", "delivered", AT)
        r = await s.client.post("/api/v1/logistics/webhook", content=body, headers=headers)
        assert r.status_code == 404 and r.json()["error"] == "not_configured"
