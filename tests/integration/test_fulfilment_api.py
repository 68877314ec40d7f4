"""Fulfilment through the API with the worker running: many paid orders from random
regions are routed to the canonical warehouses, the pick lists add up to them, a refund
before shipping gives units back, and reconcile is clean."""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections import Counter
from typing import Any

import pytest

from tests.campaigns import campaign_text
from tests.integration.conftest import Serve
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
        report = await s.reconcile()
        assert report.problems == [], report.problems
