"""Fulfilment through the API with the worker running, end to end: a thousand paid orders
from random regions are routed to the canonical warehouses, the pick lists add up to them, a
refund before shipping gives units back, the rest ship with an uploaded tracking list, the
courier delivers every parcel (which starts each after-sale period), one box of a
distributor's three-box order is refunded, and reconcile is clean."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from server.fulfilment.sandbox_courier import signed_event, tracking_no
from server.ledger.schema import orders
from tests.campaigns import campaign_text
from tests.conftest import LOGISTICS_SECRET
from tests.integration.conftest import Serve
from tests.integration.test_after_sale_api import _ask, photo_with_gps
from tests.integration.test_distribution import amounts, commissions
from tests.server_harness import LiveServer, eventually

pytestmark = pytest.mark.usefixtures("ledger_url")

# Districts (and two cities without districts) across the country: (province, city, district).
PLACES = [
    ("310000", "", "310104"),
    ("320000", "320100", "320102"),
    ("330000", "330100", "330106"),
    ("440000", "440300", "440305"),
    ("440000", "441900", ""),
    ("450000", "450100", "450103"),
    ("510000", "510100", "510104"),
    ("500000", "", "500103"),
    ("110000", "", "110105"),
    ("130000", "130100", "130102"),
    ("650000", "650100", "650102"),
    ("810000", "", "810001"),
]
ARRIVED = datetime.fromisoformat("2026-09-08T10:00:00+08:00")
HOME = {"310000": "shanghai", "440000": "guangzhou", "510000": "chengdu", "110000": "beijing"}
ORDERS = 1000
BUYERS = 250


async def _warehouses(s: LiveServer) -> dict[str, dict[str, Any]]:
    r = await s.client.get("/api/v1/ops/warehouses?campaign_id=mid-autumn", headers=s.ops)
    assert r.status_code == 200, r.text
    return {h["code"]: h for h in r.json()["warehouses"]}


async def _pick_list(s: LiveServer, code: str) -> list[list[str]]:
    url = f"/api/v1/ops/warehouses/{code}/pick-list?campaign_id=mid-autumn"
    r = await s.client.get(url, headers=s.ops)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))


async def _buy(s: LiveServer, rng: random.Random) -> dict[str, tuple[int, str]]:
    """ORDERS paid direct orders by BUYERS buyers, each with an address somewhere: order id
    -> (units, its province)."""
    gate = asyncio.Semaphore(16)
    placed: dict[str, tuple[int, str]] = {}

    async def buyer(n: int, orders: int) -> None:
        async with gate:
            me = await s.login(f"buyer-{n}")
            province, city, district = rng.choice(PLACES)
            address = await s.address(me, province=province, city=city, district=district)
            for _ in range(orders):
                order = await s.order(me, mode="direct", qty=rng.randint(1, 2))
                put = await s.client.put(
                    f"/api/v1/orders/{order['order_id']}/address",
                    json={"address_id": address},
                    headers=me,
                )
                assert put.status_code == 200, put.text
                await s.pay(me, order["order_id"])
                placed[order["order_id"]] = (order["qty"], province)

    per_buyer = ORDERS // BUYERS
    await asyncio.gather(*(buyer(n, per_buyer) for n in range(BUYERS)))
    return placed


# The suite's heaviest test: ~100 s when four tests share the two cores of CI.
@pytest.mark.timeout(300)
async def test_a_thousand_paid_orders_are_routed_and_picked(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(campaign_text(10_000)) as s:
        placed = await _buy(s, random.Random(15))
        units = sum(qty for qty, _ in placed.values())

        async def routed() -> dict[str, dict[str, Any]]:
            return await _warehouses(s)

        houses = await eventually(
            routed, lambda h: sum(x["allocated"] for x in h.values()) == units, seconds=60
        )
        await s.ledger_caught_up()  # the pick lists read the ledger
        for house in houses.values():
            assert house["free"] >= 0
            assert house["free"] + house["allocated"] + house["shipped"] == house["stock"]

        # Every order's units are on the pick lists, once, with the buyer's whole address.
        picked: Counter[str] = Counter()
        shipped_from: dict[str, set[str]] = {}
        for code, house in houses.items():
            header, *rows, total = await _pick_list(s, code)
            assert header[:2] == ["订单号", "件数"] and total[0] == "合计"
            assert sum(int(row[1]) for row in rows) == int(total[1]) == house["allocated"]
            for row in rows:
                picked[row[0]] += int(row[1])
                shipped_from.setdefault(row[0], set()).add(code)
                assert row[3] == "13812345678"
        assert picked == Counter({oid: qty for oid, (qty, _) in placed.items()})
        # The canonical warehouses hold every unit sold here: a buyer in a warehouse's own
        # province is shipped from it, from one warehouse only.
        for oid, (_, province) in placed.items():
            if province in HOME:
                assert shipped_from[oid] == {HOME[province]}, oid

        # A refund before shipping gives the units back to the warehouse they were in.
        oid, (qty, _) = next(iter(placed.items()))
        [code] = shipped_from[oid]
        r = await s.client.post(f"/api/v1/ops/orders/{oid}/refund", json={}, headers=s.ops)
        assert r.status_code == 200, r.text
        after = await _warehouses(s)
        assert after[code]["free"] == houses[code]["free"] + qty
        del placed[oid]

        # A distributor's buyer takes three boxes; then everything ships and arrives.
        seller, buyer = await s.login("dist"), await s.login("three-boxes")
        ref = await s.become_distributor(seller)
        three = await s.order(buyer, mode="direct", qty=3, ref=ref)
        await s.pay(buyer, three["order_id"])
        await s.ship_to(buyer, three["order_id"])
        await s.ledger_caught_up()
        parcels = [*placed, three["order_id"]]
        numbers = {oid: tracking_no("SF", n) for n, oid in enumerate(parcels, start=1)}
        upload = "订单号,快递公司,运单号\n" + "\n".join(f"{o},SF,{n}" for o, n in numbers.items())
        r = await s.client.post(
            "/api/v1/ops/shipments?campaign_id=mid-autumn", content=upload.encode(), headers=s.ops
        )
        assert r.json() == {
            "shipped": len(parcels),
            "unchanged": 0,
            "corrected": 0,
            "changed_lines": [],
        }, r.text
        gate = asyncio.Semaphore(16)

        async def arrives(order_id: str) -> None:
            async with gate:
                body, headers = signed_event(
                    LOGISTICS_SECRET, order_id, "SF", numbers[order_id], "delivered", ARRIVED
                )
                answer = await s.client.post(
                    "/api/v1/logistics/webhook", content=body, headers=headers
                )
                assert answer.json()["status"] == "delivered", answer.text

        await asyncio.gather(*(arrives(o) for o in parcels))
        shipped = await _warehouses(s)
        assert sum(h["shipped"] for h in shipped.values()) == units - qty + 3
        assert sum(h["allocated"] for h in shipped.values()) == 0

        oid3 = three["order_id"]
        asked = await _ask(s, buyer, oid3, "1", [photo_with_gps()])
        r = await s.client.post(
            f"/api/v1/ops/after-sales/{asked.json()['id']}/approve",
            json={"units": 1, "reason": "压坏一盒"},
            headers=s.ops,
        )
        assert r.json()["order"]["refunded_fen"] == 36_800, r.text
        await s.advance(7 * 86_400 + 1)  # every after-sale period has run: all complete
        await s.wait_for_status(buyer, oid3, "completed")
        assert amounts(await commissions(s, seller)) == {"settled": 2 * 36_800 * 15 // 100}
        report = await s.reconcile()
        assert report.problems == [], report.problems
        async with s.app.state.gateway.ledger.connect() as conn:
            statuses = await conn.execute(
                select(orders.c.status, func.count()).group_by(orders.c.status)
            )
            assert dict(statuses.all()) == {"completed": len(parcels), "refunded": 1}


async def test_an_order_the_warehouses_cannot_cover_waits_without_holding_back_others(
    serve_with_ledger: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("server.fulfilment.router.PAGE", 1)  # one order a page: no room to hide
    async with serve_with_ledger() as s:
        gw = s.app.state.gateway
        houses = gw.runtime.live("mid-autumn").warehouses.keys.warehouses
        # Only one box is free anywhere (as if the rest were counted out by hand).
        await gw.runtime.redis.hset(
            houses, mapping={"shanghai.free": 1, "guangzhou.free": 0, "chengdu.free": 0,
                             "beijing.free": 0}
        )  # fmt: skip
        await gw.runtime.redis.hincrby(houses, "version", 1)
        big, small = await s.login("big"), await s.login("small")
        three = await s.order(big, mode="direct", qty=3)
        await s.pay(big, three["order_id"])
        put = {"address_id": await s.address(big)}
        await s.client.put(f"/api/v1/orders/{three['order_id']}/address", json=put, headers=big)
        one = await s.order(small, mode="direct", qty=1)
        await s.pay(small, one["order_id"])
        routed = await s.ship_to(small, one["order_id"])  # routed past the one that waits
        assert routed["route"] == [{"warehouse": "shanghai", "units": 1}]
        assert (await s.my_orders(big))[three["order_id"]]["status"] == "paid"
        await gw.runtime.redis.hset(houses, mapping={"guangzhou.free": 30, "chengdu.free": 20})
        await gw.runtime.redis.hincrby(houses, "version", 1)  # units came: it is planned again
        await s.wait_for_status(big, three["order_id"], "allocated")


async def test_ops_move_stock_between_warehouses_by_editing_the_campaign(
    serve_with_ledger: Serve,
) -> None:
    text = campaign_text(100)  # 40 / 30 / 20 / 10
    async with serve_with_ledger(text) as s:
        buyer = await s.login("buyer")
        order = await s.order(buyer, mode="direct", qty=2)
        await s.pay(buyer, order["order_id"])
        await s.ship_to(buyer, order["order_id"])  # two of Shanghai's forty are committed
        url = "/api/v1/ops/campaigns/mid-autumn"

        moved = text.replace("units = 40\n", "units = 15\n").replace("units = 10\n", "units = 35\n")
        r = await s.client.put(url, content=moved.encode(), headers=s.ops)
        assert r.status_code == 200, r.text
        houses = await _warehouses(s)
        assert (houses["shanghai"]["stock"], houses["shanghai"]["free"]) == (15, 13)
        assert (houses["beijing"]["stock"], houses["beijing"]["free"]) == (35, 35)

        too_far = text.replace("units = 40\n", "units = 1\n").replace(
            "units = 10\n", "units = 49\n"
        )
        r = await s.client.put(url, content=too_far.encode(), headers=s.ops)
        assert (r.status_code, r.json()["error"]) == (409, "warehouse_committed")
        assert r.json()["field"] == "fulfilment.warehouses[0].units"
        assert (await _warehouses(s))["shanghai"]["stock"] == 15  # nothing changed

        # Shanghai shipped nothing yet but holds two routed boxes: it cannot be left out.
        without = re.sub(
            r'\n\[\[fulfilment\.warehouses\]\]\ncode = "shanghai".*?(?=\n\[\[)',
            "",
            moved,
            flags=re.S,
        )
        without = without.replace("units = 30\n", "units = 45\n")  # its 15 go to Guangzhou
        r = await s.client.put(url, content=without.encode(), headers=s.ops)
        assert (r.status_code, r.json()["error"]) == (409, "warehouse_in_use"), r.text
        assert not (await s.reconcile()).problems
