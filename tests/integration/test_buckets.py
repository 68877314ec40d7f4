"""Stock buckets on the real servers: loans finished after a crash, a buyer's retried
Idempotency-Key, and on the cluster K buckets on K shards (docs/stock-buckets.md)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from server.demo_reset import delete_keys
from server.domain.buckets import bucket_of
from server.domain.campaign import parse_campaign
from server.domain.campaign_file import with_buckets
from server.domain.pools import plan_for
from server.runtime import Runtime
from server.store.buckets import BucketedStock, Loan
from server.store.connection import connect
from server.store.scripts import Scripts
from server.store.stock import OrderRequest
from server.sweeper import Sweeper
from tests.campaigns import campaign_text, write_campaign
from tests.conftest import make_settings
from tests.integration.conftest import PRESALE_OPEN

CAMPAIGN = parse_campaign(campaign_text(300, 0, 0))  # presale 60, group 150, distribution 90


async def _stock(redis: Redis, key_prefix: str, k: int) -> BucketedStock:
    stock = BucketedStock(redis, Scripts.register(redis), key_prefix, CAMPAIGN.id, k)
    assert await stock.init_pools(CAMPAIGN) == ["set"] * k
    return stock


def _direct(user: str, qty: int = 1, key: str = "") -> OrderRequest:
    plan = plan_for(CAMPAIGN, "direct")
    return OrderRequest(user, "direct", qty, 5, plan, 100, 0, idempotency_key=key, body_hash="h")


def _users_of(bucket: int, k: int, n: int) -> list[str]:
    users = (f"u{i}" for i in range(10_000))
    return [u for u in users if bucket_of(u, "direct", k) == bucket][:n]


async def _remaining(stock: BucketedStock) -> int:
    return sum(c["remaining"] for c in (await stock.pools()).values())


async def test_a_loan_the_borrower_never_took_is_finished_once_by_the_sweep(
    redis: Redis, key_prefix: str
) -> None:
    stock = await _stock(redis, key_prefix, 3)
    before = await _remaining(stock)
    # the process dies after the donor's half: the units left bucket 1 and are nowhere else
    loan = await stock._lend(1, 2, [("distribution", 7)], {})
    assert loan is not None and loan.units == [("distribution", 7)]
    assert await _remaining(stock) == before - 7
    assert await stock.loans_in_flight() == [
        Loan(loan.loan_id, stock.tags[1], stock.tags[2], {"distribution": 7})
    ]
    assert await stock.finish_loans() == 1
    assert await stock.finish_loans() == 0
    assert await stock.loans_in_flight() == [] and await _remaining(stock) == before
    pools = await stock.pools_by_bucket()
    assert (pools[1]["distribution"]["sent"], pools[2]["distribution"]["received"]) == (7, 7)


async def test_a_loan_taken_whose_record_was_left_is_not_taken_twice(
    redis: Redis, key_prefix: str
) -> None:
    stock = await _stock(redis, key_prefix, 2)
    before = await _remaining(stock)
    loan = await stock._lend(0, 1, [("group", 5)], {})
    assert loan is not None
    into = stock.buckets[1].keys  # the borrower took it; the process died before the cleanup
    await stock._scripts.take_loan(
        keys=[into.pools, into.loans_taken, into.warehouses], args=[loan.loan_id, "[]", "group", 5]
    )
    assert await stock.loans_in_flight() == []
    assert await stock.finish_loans() == 0  # the donor's record goes, nothing is taken again
    assert await redis.hlen(stock.buckets[0].keys.loans) == 0
    assert await _remaining(stock) == before


async def test_an_order_refused_in_its_bucket_is_placed_with_borrowed_units_and_replays(
    redis: Redis, key_prefix: str
) -> None:
    stock = await _stock(redis, key_prefix, 3)
    buyers = _users_of(2, 3, 31)
    for buyer in buyers[:30]:  # bucket 2's 30 distribution units, and its group share is 0
        [placed] = await stock.reserve(0, [_direct(buyer)])
        assert placed.code == "ok"
    [outcome] = await stock.reserve(0, [_direct(buyers[30], 2, key="k1")])
    assert outcome.code == "ok" and outcome.order is not None
    assert outcome.order["id"].startswith(stock.tags[2] + ".")  # placed in its own bucket
    [again] = await stock.reserve(0, [_direct(buyers[30], 2, key="k1")])
    assert again.code == "replay" and again.order is not None
    assert again.order["id"] == outcome.order["id"]
    pools = await stock.pools_by_bucket()
    received = pools[2]["distribution"]["received"]  # what it lacked, or a third of a share
    assert (
        received >= 2
        and received == pools[0]["distribution"]["sent"] + pools[1]["distribution"]["sent"]
    )


async def test_three_buckets_sell_out_together_and_on_the_cluster_sit_on_three_shards(
    redis_url: str, redis: Redis, key_prefix: str
) -> None:
    stock = await _stock(redis, key_prefix, 3)
    assert isinstance(redis, RedisCluster) == redis_url.startswith("redis+cluster")
    if isinstance(redis, RedisCluster):
        nodes = {redis.get_node_from_key(s.keys.pools).name for s in stock.buckets}
        assert len(nodes) == 3, nodes
    orders = [_direct(f"buyer-{i}") for i in range(400)]
    outcomes = []
    for start in range(0, len(orders), 48):
        outcomes += await stock.reserve(0, orders[start : start + 48])
    accepted = sum(o.code == "ok" for o in outcomes)
    assert accepted == 240  # group 150 + distribution 90: every unit, not one more
    assert {o.code for o in outcomes} == {"ok", "sold_out"}
    pools = await stock.pools()
    assert (pools["group"]["remaining"], pools["distribution"]["remaining"]) == (0, 0)
    assert all([await s.last_order_number() > 0 for s in stock.buckets])  # each placed some


async def test_four_gateways_at_once_sell_every_unit_once(redis_url: str, key_prefix: str) -> None:
    """Four stores on their own connections (four gateways), each sending batches at once:
    no unit sold twice, every unit a direct order may take sold while buyers were still
    being refused, no loan left on its way."""
    gateways = [connect(redis_url, timeout_s=10) for _ in range(4)]
    try:
        stores = [
            BucketedStock(r, Scripts.register(r), key_prefix, CAMPAIGN.id, 3) for r in gateways
        ]
        await stores[0].init_pools(CAMPAIGN)
        for store in stores[1:]:
            store.configure(CAMPAIGN)

        async def buyers(g: int) -> list[str]:
            codes = []
            for start in range(0, 240, 24):
                batch = [_direct(f"g{g}-{i}") for i in range(start, start + 24)]
                codes += [o.code for o in await stores[g].reserve(0, batch)]
            return codes

        answers = [code for codes in await asyncio.gather(*map(buyers, range(4))) for code in codes]
        pools = await stores[0].pools()
        assert answers.count("ok") == 240  # group 150 + distribution 90, once each
        assert set(answers) == {"ok", "sold_out"}
        assert sum(c["reserved"] for c in pools.values()) == 240
        assert (pools["group"]["remaining"], pools["distribution"]["remaining"]) == (0, 0)
        assert await stores[0].loans_in_flight() == []
    finally:
        for r in gateways:
            await delete_keys(r, key_prefix)
            await r.aclose()


async def test_the_workers_sweep_finishes_a_loan_left_half_made(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    text = with_buckets(campaign_text(300, 0, 0), 3)
    settings = make_settings(
        key_prefix,
        campaign_file=write_campaign(tmp_path, text),
        clock_start=datetime.fromisoformat(PRESALE_OPEN),
    )
    redis = connect(redis_url, timeout_s=10)
    runtime = Runtime(settings, redis)
    await runtime.start()
    try:
        stock = runtime.live("mid-autumn").stock
        before = await _remaining(stock)
        assert await stock._lend(2, 1, [("presale", 4)], {}) is not None  # then the crash
        assert await _remaining(stock) == before - 4
        await Sweeper(runtime).sweep()
        assert await stock.loans_in_flight() == [] and await _remaining(stock) == before
        assert (await stock.pools_by_bucket())[1]["presale"]["received"] == 4
    finally:
        await runtime.stop()
        await delete_keys(redis, key_prefix)
        await redis.aclose()


@pytest.mark.parametrize("redis_url", ["cluster"], indirect=True)
async def test_under_replicated_durability_a_loan_waits_for_a_replica(
    redis: Redis, key_prefix: str
) -> None:
    """On the cluster (a replica per primary) each half of a loan is confirmed by a replica
    before the next step, and the borrowing order is placed as without the wait."""
    stock = BucketedStock(
        redis, Scripts.register(redis), key_prefix, CAMPAIGN.id, 3, wait_for=(1, 2_000)
    )
    await stock.init_pools(CAMPAIGN)
    buyers = _users_of(2, 3, 31)
    outcomes = [o for b in buyers for o in await stock.reserve(0, [_direct(b)])]
    assert [o.code for o in outcomes] == ["ok"] * 31  # the 31st on units lent to bucket 2
    assert (await stock.pools_by_bucket())[2]["distribution"]["received"] > 0
    assert await stock.loans_in_flight() == []


async def test_a_sold_out_answered_under_a_key_is_answered_again_when_units_come_back(
    redis: Redis, key_prefix: str
) -> None:
    """The buyer had the refusal: a repeat under the same key gets it again, even when
    another bucket now has a unit to lend (only a refusal its client never saw is retried)."""
    stock = await _stock(redis, key_prefix, 3)
    others = [f"o{i}" for i in range(300)]
    placed = [o for o in await stock.reserve(0, [_direct(u) for u in others]) if o.order]
    assert len(placed) == 240
    buyer = _users_of(2, 3, 1)[0]
    [first] = await stock.reserve(0, [_direct(buyer, key="k1")])
    assert first.code == "sold_out"
    in_bucket_0 = next(o.order["id"] for o in placed if o.order and "@" not in o.order["id"])
    assert (await stock.release(1, in_bucket_0, "cancelled")).code == "ended"
    [again] = await stock.reserve(0, [_direct(buyer, key="k1")])
    assert (again.code, again.order) == ("sold_out", None)
    [fresh] = await stock.reserve(0, [_direct(buyer, key="k2")])
    assert fresh.code == "ok"  # the unit was there to borrow
