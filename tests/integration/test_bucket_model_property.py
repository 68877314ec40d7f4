"""A campaign's stock split over K buckets behaves as one pool (docs/stock-buckets.md):
random buyers, modes, quantities, batches, releases and the presale reserve's return, on
the real server, against the plain-Python model of one pool (domain/pools.py). Every
order is accepted or refused as the one pool would, the per-user limit stays exact, and
after every step each bucket's units add up and every loan is in exactly one bucket."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from server.demo_reset import delete_keys
from server.domain.buckets import bucket_of
from server.domain.campaign import MODES, Campaign, Mode, parse_campaign
from server.domain.pools import PoolBook, PoolState, available, plan_for
from server.store.buckets import BucketedStock
from server.store.connection import connect
from server.store.scripts import Scripts
from server.store.stock import OrderRequest, Outcome
from tests.campaigns import campaign_text
from tests.integration.test_pool_model_property import (
    LIMIT,
    USERS,
    Batch,
    Release,
    Reserve,
    ReturnReserve,
    answered_before,
    reserves,
)

# the one-pool test's operations: one order, a batch, a release, the reserve's return
unkeyed = st.builds(Reserve, st.sampled_from(MODES), st.integers(1, 4), st.sampled_from(USERS))
operations = st.one_of(
    reserves,
    st.builds(Batch, st.lists(unkeyed, min_size=2, max_size=8)),
    st.builds(Release, st.integers(0, 1000)),
    st.just(ReturnReserve()),
)


class Model:
    """One pool for the whole campaign, with per-user holdings and live orders."""

    def __init__(self, book: PoolBook, k: int) -> None:
        self.book = book
        self.k = k
        self.holdings: dict[tuple[str, str], int] = {}
        self.live: dict[str, tuple[str, Mode, int]] = {}  # order id -> user, mode, qty
        self.keyed: dict[tuple[str, str, int], tuple[str, str, str]] = {}
        self.owned: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {}

    def key_scope(self, op: Reserve) -> tuple[str, str, int]:
        # an Idempotency-Key is kept in the bucket the order goes to: a buyer's group buys
        # (bucket 0) and other orders (their own bucket) keep theirs apart
        return (op.user, op.key, bucket_of(op.user, op.mode, self.k))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    k=st.integers(2, 4),
    total=st.integers(1, 40),
    ops=st.lists(operations, min_size=1, max_size=40),
)
async def test_buckets_accept_and_refuse_as_one_pool_would(
    redis_url: str, k: int, total: int, ops: list[object]
) -> None:
    campaign = parse_campaign(campaign_text(total, 0, 0))  # floors: see the test below
    prefix = f"p{uuid.uuid4().hex[:12]}"
    redis = connect(redis_url, timeout_s=10)
    try:
        stock = BucketedStock(redis, Scripts.register(redis), prefix, campaign.id, k)
        assert await stock.init_pools(campaign) == ["set"] * k
        model = Model(PoolBook.for_campaign(campaign), k)
        order_ids: list[str] = []
        for step, op in enumerate(ops):
            if isinstance(op, Reserve):
                await _reserve(stock, model, campaign, op, order_ids)
            elif isinstance(op, Batch):
                await _reserve_together(stock, model, campaign, op, order_ids)
            elif isinstance(op, Release) and order_ids:
                await _release(stock, model, order_ids[op.pick % len(order_ids)], step)
            elif isinstance(op, ReturnReserve):
                moved = await stock.return_unsold(step, "presale", "group")
                assert (moved or 0) == model.book.return_unsold("presale", "group")
            await _assert_units_add_up(stock, model, op)
    finally:
        await delete_keys(redis, prefix)
        await redis.aclose()


def _request(campaign: Campaign, o: Reserve) -> OrderRequest:
    plan = plan_for(campaign, o.mode)
    return OrderRequest(
        o.user, o.mode, o.qty, LIMIT, plan, 100, 0, idempotency_key=o.key, body_hash=o.body_hash
    )


async def _reserve(
    stock: BucketedStock, model: Model, campaign: Campaign, op: Reserve, order_ids: list[str]
) -> None:
    """One order alone: answered exactly as the one pool answers it."""
    [outcome] = await stock.reserve(0, [_request(campaign, op)])
    _expect(model, campaign, op, outcome, order_ids)


async def _reserve_together(
    stock: BucketedStock, model: Model, campaign: Campaign, op: Batch, order_ids: list[str]
) -> None:
    """Orders placed in one call are concurrent: a bucket may serve a later one before an
    earlier one it refused and tries again with borrowed units. So the answers must fit
    some order of the calls, not necessarily the batch's: every accepted order fits the
    one pool and the limit, and each refusal still holds once the batch is done."""
    outcomes = await stock.reserve(0, [_request(campaign, o) for o in op.orders])
    for order, outcome in zip(op.orders, outcomes, strict=True):
        if outcome.code == "ok":
            _place(model, campaign, order, outcome)
            assert outcome.order is not None
            order_ids.append(outcome.order["id"])
    for order, outcome in zip(op.orders, outcomes, strict=True):
        held = model.holdings.get((order.user, order.mode), 0)
        if outcome.code == "limit_reached":
            assert held + order.qty > LIMIT
        elif outcome.code == "sold_out":
            spare = available(plan_for(campaign, order.mode), model.book.remaining())
            assert spare < order.qty, f"refused {order} with {spare} units left"
        else:
            assert outcome.code == "ok", outcome


def _expect(
    model: Model, campaign: Campaign, op: Reserve, outcome: Outcome, order_ids: list[str]
) -> None:
    if op.key and answered_before(model.keyed.get(model.key_scope(op)), op, outcome):
        return
    code, order_id = _place(model, campaign, op, outcome)
    if op.key:
        model.keyed[model.key_scope(op)] = (op.body_hash, code, order_id)
    if order_id:
        order_ids.append(order_id)


def _place(model: Model, campaign: Campaign, op: Reserve, outcome: Outcome) -> tuple[str, str]:
    held = model.holdings.get((op.user, op.mode), 0)
    if held + op.qty > LIMIT:
        assert outcome.code == "limit_reached", f"{op} held {held}: {outcome.code}"
        return outcome.code, ""
    plan = plan_for(campaign, op.mode)
    expected = model.book.reserve(plan, op.qty)
    if expected is None:
        assert outcome.code == "sold_out", "refused although the campaign has the units"
        return outcome.code, ""
    assert outcome.code == "ok" and outcome.order is not None, f"{outcome.code}: units left"
    order = outcome.order
    assert order["campaign_id"] == campaign.id and order["qty"] == op.qty
    assert sum(units for _, units in order["alloc"]) == op.qty
    model.holdings[(op.user, op.mode)] = held + op.qty
    model.live[order["id"]] = (op.user, op.mode, op.qty)
    model.owned[order["id"]] = (plan.pool, expected)
    return "ok", order["id"]


async def _release(stock: BucketedStock, model: Model, order_id: str, step: int) -> None:
    outcome = await stock.release(step, order_id, "cancelled")
    if order_id not in model.live:
        assert outcome.code == "already"
        return
    assert outcome.code == "ended"
    user, mode, qty = model.live.pop(order_id)
    owner, alloc = model.owned.pop(order_id)
    model.book.release(owner, alloc)
    model.holdings[(user, mode)] -= qty


async def _assert_units_add_up(stock: BucketedStock, model: Model, op: object) -> None:
    """Which pool an order's units came from may differ from the one pool's choice (a
    bucket draws on what it holds): the totals may not."""
    merged = await stock.pools()
    expected = model.book.pools
    assert sum(c["remaining"] for c in merged.values()) == model.book.total_remaining(), op
    for counter in ("reserved", "moved_in", "moved_out"):
        assert sum(c[counter] for c in merged.values()) == sum(
            getattr(p, counter) for p in expected.values()
        ), (counter, op)
    assert await stock.loans_in_flight() == []
    assert sum(c["sent"] for c in merged.values()) == sum(c["received"] for c in merged.values())
    for bucket in await stock.pools_by_bucket():
        assert _pool_book(bucket).broken_invariants() == [], op


def _pool_book(pools: dict[str, dict[str, int]]) -> PoolBook:
    book = PoolBook({name: PoolState(0, 0) for name in pools})
    for name, counters in pools.items():
        for counter, n in counters.items():
            setattr(book.pools[name], counter, n)
    return book


async def test_floors_hold_in_every_bucket_and_no_unit_is_sold_twice(
    redis: Redis, key_prefix: str
) -> None:
    """With borrowing floors each bucket keeps its share of each floor (the floors add up to
    the campaign's): a spike of direct orders drains every bucket's distribution pool and
    then the group pool down to exactly its floor, never below, never a unit more."""
    campaign = parse_campaign(campaign_text(300, 0, 60))
    stock = BucketedStock(redis, Scripts.register(redis), key_prefix, campaign.id, 3)
    await stock.init_pools(campaign)
    plan = plan_for(campaign, "direct")
    requests = [OrderRequest(f"u{i}", "direct", 1, 5, plan, 100, 0) for i in range(400)]
    outcomes = []
    for start in range(0, len(requests), 50):
        outcomes += await stock.reserve(0, requests[start : start + 50])
    accepted = sum(o.code == "ok" for o in outcomes)
    units = campaign.pool_units()
    assert accepted == units["distribution"] + units["group"] - 60
    pools = await stock.pools()
    assert pools["group"]["remaining"] == 60 and pools["distribution"]["remaining"] == 0
    assert all(o.code == "sold_out" for o in outcomes if o.code != "ok")
