"""The Lua scripts against the plain-Python model of the same rules (domain/pools.py):
random sequences of reserve, release and return-of-reserve, every pool compared after
every step, on the real server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.demo_reset import delete_keys
from server.domain.campaign import MODES, Campaign, Mode, parse_campaign
from server.domain.pools import Allocation, PoolBook, plan_for
from server.store.connection import connect
from server.store.keys import CampaignKeys
from server.store.scripts import Scripts
from server.store.stock import OrderRequest, StockStore
from tests.campaigns import campaign_text

LIMIT = 6
USERS = [f"u{i}" for i in range(8)]


@dataclass(frozen=True)
class Reserve:
    mode: Mode
    qty: int
    user: str


@dataclass(frozen=True)
class Release:
    pick: int


@dataclass(frozen=True)
class ReturnReserve:
    pass


operations = st.one_of(
    st.builds(Reserve, st.sampled_from(MODES), st.integers(1, 4), st.sampled_from(USERS)),
    st.builds(Release, st.integers(0, 1000)),
    st.just(ReturnReserve()),
)


class Model:
    """The model of one campaign: pools plus per-user holdings and live orders."""

    def __init__(self, book: PoolBook) -> None:
        self.book = book
        self.holdings: dict[tuple[str, str], int] = {}
        # order id -> (user, mode, qty, the order's own pool, allocation)
        self.live: dict[str, tuple[str, Mode, int, str, Allocation]] = {}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    total=st.integers(1, 30),
    floors=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    ops=st.lists(operations, min_size=1, max_size=40),
)
async def test_scripts_match_the_model(
    redis_url: str, total: int, floors: tuple[int, int], ops: list[object]
) -> None:
    campaign = parse_campaign(campaign_text(total, *floors))
    prefix = f"p{uuid.uuid4().hex[:12]}"
    redis = connect(redis_url, timeout_s=10)
    try:
        store = StockStore(redis, Scripts.register(redis), CampaignKeys(prefix, campaign.id))
        assert await store.init_pools(campaign) == "set"
        model = Model(PoolBook.for_campaign(campaign))
        order_ids: list[str] = []
        for step, op in enumerate(ops):
            if isinstance(op, Reserve):
                await _reserve(store, model, campaign, op, order_ids)
            elif isinstance(op, Release) and order_ids:
                await _release(store, model, order_ids[op.pick % len(order_ids)], step)
            elif isinstance(op, ReturnReserve):
                moved = await store.return_unsold(step, "presale", "group")
                expected = model.book.return_unsold("presale", "group")
                assert (moved or 0) == expected
            await _assert_same_pools(store, model, op)
    finally:
        await delete_keys(redis, prefix)
        await redis.aclose()


async def _reserve(
    store: StockStore, model: Model, campaign: Campaign, op: Reserve, order_ids: list[str]
) -> None:
    plan = plan_for(campaign, op.mode)
    request = OrderRequest(op.user, op.mode, op.qty, LIMIT, plan, 100, 0)
    [outcome] = await store.reserve(0, [request])
    held = model.holdings.get((op.user, op.mode), 0)
    if held + op.qty > LIMIT:
        assert outcome.code == "limit_reached"
        return
    expected = model.book.reserve(plan, op.qty)
    if expected is None:
        assert outcome.code == "sold_out"
        return
    assert outcome.code == "ok" and outcome.order is not None
    assert tuple(tuple(part) for part in outcome.order["alloc"]) == expected
    model.holdings[(op.user, op.mode)] = held + op.qty
    model.live[outcome.order["id"]] = (op.user, op.mode, op.qty, plan.pool, expected)
    order_ids.append(outcome.order["id"])


async def _release(store: StockStore, model: Model, order_id: str, step: int) -> None:
    outcome = await store.release(step, order_id, "cancelled")
    if order_id not in model.live:
        assert outcome.code == "already"
        return
    assert outcome.code == "ended"
    user, mode, qty, owner, alloc = model.live.pop(order_id)
    model.book.release(owner, alloc)
    model.holdings[(user, mode)] -= qty


async def _assert_same_pools(store: StockStore, model: Model, op: object) -> None:
    actual = await store.pools()
    expected = {name: p.counters() for name, p in model.book.pools.items()}
    assert actual == expected, f"after {op}"
    returned = await store.returned_pools()
    assert returned == {n: p.returned_to for n, p in model.book.pools.items() if p.returned_to}
    assert model.book.broken_invariants() == []
