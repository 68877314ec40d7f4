"""A campaign whose stock is split over three buckets, through the API with the ledger
worker running: each buyer's orders in their bucket and their group buys in the campaign's
own, payments and deadlines where their orders are, one list of a buyer's orders, the
feeds and metrics summed, and reconcile clean over every bucket."""

from __future__ import annotations

import tomllib

import pytest

from server.domain.buckets import bucket_of, keyspace_of
from server.domain.campaign_file import to_toml, with_buckets
from tests.campaigns import campaign_text, manual_offer
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.server_harness import LiveServer

pytestmark = pytest.mark.usefixtures("ledger_url")

K = 3
CAMPAIGN = with_buckets(manual_offer(campaign_text(300, 0, 0)), K)


def _one_per_bucket(prefix: str) -> list[str]:
    """A buyer of each bucket, bucket 0 first."""
    users = [f"{prefix}{i}" for i in range(200)]
    return [next(u for u in users if bucket_of(u, "direct", K) == b) for b in range(K)]


async def _clean(s: LiveServer) -> None:
    report = await s.reconcile()
    assert report.problems == [], report.problems


async def test_orders_pay_and_expire_in_their_buyers_buckets(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(CAMPAIGN) as s:
        buyers = _one_per_bucket("buyer")
        heads = [await s.login(u) for u in buyers]
        placed = [await s.order(h, mode="presale", qty=2) for h in heads]
        keyspaces = [keyspace_of(order["order_id"]) for order in placed]
        assert len(set(keyspaces)) == K and keyspaces[0] == "mid-autumn"
        for h, order in zip(heads, placed, strict=True):
            deposit = await s.pay(h, order["order_id"])
            assert deposit["payment_id"].startswith(keyspace_of(order["order_id"]) + "~")
        unpaid = [await s.order(h, mode="direct", qty=1) for h in heads]
        stock = await s.stock()
        assert stock["pools"]["presale"]["sold"] == 2 * K
        assert stock["pools"]["distribution"]["reserved"] == K
        await s.advance(901)  # the direct orders' quarter of an hour to pay
        for h, order in zip(heads, unpaid, strict=True):
            await s.wait_for_status(h, order["order_id"], "expired")
        stock = await s.stock()
        assert (stock["pools"]["distribution"]["reserved"], stock["remaining"]) == (0, 300 - 2 * K)
        await s.set_clock("2026-09-06T09:00:00+08:00")
        for h, order in zip(heads, placed, strict=True):
            address = {"address_id": await s.address(h)}
            url = f"/api/v1/orders/{order['order_id']}/address"
            assert (await s.client.put(url, json=address, headers=h)).status_code == 200
            balance = await s.pay(h, order["order_id"])
            assert balance["stage"] == "balance"
            routed = await s.wait_for_status(h, order["order_id"], "allocated")
            assert routed["route"] == [{"warehouse": "shanghai", "units": 2}]  # its share
        await _clean(s)


async def test_a_buyers_group_buys_and_other_orders_are_one_list(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(CAMPAIGN, clock_start=GROUP_OPEN) as s:
        leader, friend = _one_per_bucket("g")[0], _one_per_bucket("f")[1]  # friend: bucket 1
        lead, join = await s.login(leader), await s.login(friend)
        opened = await s.order(lead, mode="group", qty=1, open_group=True)
        joined = await s.order(join, mode="group", qty=1, group_code=opened["group_code"])
        direct = await s.order(join, mode="direct", qty=1)
        assert keyspace_of(joined["order_id"]) == "mid-autumn"  # the group's keyspace
        assert keyspace_of(direct["order_id"]) != "mid-autumn"  # the buyer's own bucket
        mine = await s.my_orders(join)
        assert set(mine) == {joined["order_id"], direct["order_id"]}
        group = await s.group(opened["group_code"])
        assert group["members"] == 2
        for order in (joined, direct):
            await s.pay(join, order["order_id"])
        await _clean(s)


async def test_the_bucket_count_changes_before_the_first_order_and_never_after(
    serve: Serve,
) -> None:
    async with serve(campaign_text(300, 0, 0)) as s:
        for k in (3, 2):  # no order yet: the pools are split again, every unit kept
            r = await s.client.put(
                "/api/v1/ops/campaigns/mid-autumn",
                content=with_buckets(campaign_text(300, 0, 0), k).encode(),
                headers=s.ops,
            )
            assert r.status_code == 200, r.text
            assert (await s.stock())["remaining"] == 300
        buyer = _one_per_bucket("x")[1]
        order = await s.order(await s.login(buyer), mode="direct", qty=1)
        assert "@" in keyspace_of(order["order_id"])
        again = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn",
            content=with_buckets(campaign_text(300, 0, 0), 3).encode(),
            headers=s.ops,
        )
        assert again.status_code == 409
        assert (again.json()["error"], again.json()["field"]) == ("stock_locked", "stock.buckets")
        assert (await s.stock())["remaining"] == 299
        raw = tomllib.loads(with_buckets(campaign_text(300, 0, 0), 2))
        houses = raw["fulfilment"]["warehouses"]  # the same boxes, two warehouses' swapped
        houses[0]["units"], houses[1]["units"] = houses[1]["units"], houses[0]["units"]
        moved = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn", content=to_toml(raw).encode(), headers=s.ops
        )
        assert moved.status_code == 409
        assert (moved.json()["error"], moved.json()["field"]) == (
            "warehouse_locked",
            "fulfilment.warehouses",
        )


async def test_a_bucket_count_out_of_range_is_refused_at_its_field(serve: Serve) -> None:
    async with serve() as s:
        text = with_buckets(campaign_text(300, 0, 0), 17)
        r = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn", content=text.encode(), headers=s.ops
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "stock.buckets" and "less than or equal to 16" in r.text
        assert (await s.stock())["total"] == 100


async def test_units_lent_to_a_bucket_bring_warehouse_units_and_route(
    serve_with_ledger: Serve,
) -> None:
    """Bucket 1 holds 5 of 30 boxes (3 for direct orders); its eighth direct buyer is
    served with units lent by bucket 0, and so are the warehouse units to ship them: every
    order routed from its bucket's share, every bucket's warehouses holding its unrouted
    units, reconcile clean."""
    async with serve_with_ledger(with_buckets(campaign_text(30, 0, 0), K)) as s:
        users = [f"w{i}" for i in range(400)]
        buyers = [u for u in users if bucket_of(u, "direct", K) == 1][:8]
        heads = [await s.login(u) for u in buyers]
        orders = [await s.order(h, mode="direct", qty=1) for h in heads]
        live = s.app.state.gateway.runtime.live("mid-autumn")
        assert {keyspace_of(order["order_id"]) for order in orders} == {live.stock.tags[1]}
        for h, order in zip(heads, orders, strict=True):
            await s.pay(h, order["order_id"])
            routed = await s.ship_to(h, order["order_id"])
            assert routed["status"] == "allocated" and routed["route"]
        pools = await live.stock.pools_by_bucket()
        assert sum(c["received"] for c in pools[1].values()) > 0  # bucket 1 borrowed
        for keys, bucket in zip(live.stock.spaces.buckets, pools, strict=True):
            levels = await live.warehouses._levels(keys)
            unrouted = sum(c["remaining"] + c["reserved"] + c["sold"] for c in bucket.values())
            here = [o for o in orders if keyspace_of(o["order_id"]) == keys.campaign_id]
            routed_here = len(here)  # one box each
            assert sum(level.free for level in levels.houses.values()) == unrouted - routed_here
        await _clean(s)
