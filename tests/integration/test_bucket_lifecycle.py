"""A campaign whose stock is split over three buckets, through the API with the ledger
worker running: each buyer's orders in their bucket and their group buys in the campaign's
own, payments and deadlines where their orders are, one list of a buyer's orders, the
feeds and metrics summed, and reconcile clean over every bucket."""

from __future__ import annotations

import pytest

from server.domain.buckets import bucket_of, keyspace_of
from server.domain.campaign_file import with_buckets
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
            balance = await s.pay(h, order["order_id"])
            assert balance["stage"] == "balance"
            assert (await s.my_orders(h))[order["order_id"]]["status"] == "paid"
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


async def test_buckets_with_warehouses_or_out_of_range_are_refused_at_their_field(
    serve: Serve,
) -> None:
    async with serve() as s:
        with_houses = campaign_text(300, 0, 0).replace("[stock]\n", "[stock]\nbuckets = 2\n", 1)
        for text, problem in (
            (with_houses, "without warehouses"),
            (
                with_buckets(campaign_text(300, 0, 0), 2).replace("buckets = 2", "buckets = 17"),
                "less than or equal to 16",
            ),
        ):
            r = await s.client.put(
                "/api/v1/ops/campaigns/mid-autumn", content=text.encode(), headers=s.ops
            )
            assert r.status_code == 422, r.text
            assert r.json()["field"] == "stock.buckets", r.json()
            assert problem in r.text
        assert (await s.stock())["total"] == 100
