"""The Lua scripts against the plain-Python model of the same rules (domain/pools.py):
random sequences of reserve (alone or several in one call, as the gateway batches them; some
under an Idempotency-Key, repeated), release and return-of-reserve, every pool compared after
every step, on the real server."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from server.demo_reset import delete_keys
from server.domain.campaign import MODES, Campaign, Mode, parse_campaign
from server.domain.pools import Allocation, PoolBook, plan_for
from server.store.connection import connect
from server.store.keys import CampaignKeys
from server.store.scripts import Scripts
from server.store.stock import OrderRequest, Outcome, StockStore, text
from tests.campaigns import campaign_text

LIMIT = 6
USERS = [f"u{i}" for i in range(8)]


@dataclass(frozen=True)
class Reserve:
    mode: Mode
    qty: int
    user: str
    key: str = ""  # Idempotency-Key: a few, so that some repeat, within a call or across

    @property
    def body_hash(self) -> str:
        return f"{self.mode}:{self.qty}"


@dataclass(frozen=True)
class Batch:
    """Orders placed in one reserve call: each sees what the ones before it did."""

    orders: list[Reserve]


@dataclass(frozen=True)
class Release:
    pick: int


@dataclass(frozen=True)
class ReturnReserve:
    pass


reserves = st.builds(
    Reserve,
    st.sampled_from(MODES),
    st.integers(1, 4),
    st.sampled_from(USERS),
    st.sampled_from(["", "", "k1", "k2"]),
)
operations = st.one_of(
    reserves,
    st.builds(Batch, st.lists(reserves, min_size=2, max_size=8)),
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
        # (user, key) -> (body hash, the answer's code, its order id or "")
        self.keyed: dict[tuple[str, str], tuple[str, str, str]] = {}
        # the live metrics the scripts keep (the big screen's counters)
        self.counted: Counter[str] = Counter()


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
            if isinstance(op, Reserve | Batch):
                await _reserve(store, model, campaign, op, order_ids)
            elif isinstance(op, Release) and order_ids:
                await _release(store, model, order_ids[op.pick % len(order_ids)], step)
            elif isinstance(op, ReturnReserve):
                moved = await store.return_unsold(step, "presale", "group")
                expected = model.book.return_unsold("presale", "group")
                assert (moved or 0) == expected
                model.counted["pools.returned_units"] += expected
            await _assert_same_pools(store, model, op)
            await _assert_same_counters(redis, store.keys, model, op)
    finally:
        await delete_keys(redis, prefix)
        await redis.aclose()


async def _reserve(
    store: StockStore, model: Model, campaign: Campaign, op: Reserve | Batch, order_ids: list[str]
) -> None:
    orders = op.orders if isinstance(op, Batch) else [op]
    requests = [
        OrderRequest(
            o.user,
            o.mode,
            o.qty,
            LIMIT,
            plan_for(campaign, o.mode),
            100,
            0,
            idempotency_key=o.key,
            body_hash=o.body_hash,
        )
        for o in orders
    ]
    outcomes = await store.reserve(0, requests)
    assert len(outcomes) == len(orders)
    for order, outcome in zip(orders, outcomes, strict=True):
        _expect(model, campaign, order, outcome, order_ids)


def _expect(
    model: Model, campaign: Campaign, op: Reserve, outcome: Outcome, order_ids: list[str]
) -> None:
    """The model's answer to one order, after the orders before it; checked against Redis's."""
    if op.key and answered_before(model.keyed.get((op.user, op.key)), op, outcome):
        return
    code, order_id = _place(model, campaign, op, outcome)
    if op.key:
        model.keyed[(op.user, op.key)] = (op.body_hash, code, order_id)
    if order_id:
        order_ids.append(order_id)


def answered_before(seen: tuple[str, str, str] | None, op: Reserve, outcome: Outcome) -> bool:
    """Whether the order repeats an Idempotency-Key already answered (`seen`: the body's
    hash, the answer and its order id): then Redis answers it as it did the first time."""
    if seen is None:
        return False
    body_hash, code, order_id = seen
    if body_hash != op.body_hash:
        assert outcome.code == "idempotency_mismatch"
    elif code == "ok":
        assert outcome.code == "replay" and outcome.order is not None
        assert outcome.order["id"] == order_id
    else:
        assert (outcome.code, outcome.order) == (code, None)
    return True


def _place(model: Model, campaign: Campaign, op: Reserve, outcome: Outcome) -> tuple[str, str]:
    plan = plan_for(campaign, op.mode)
    held = model.holdings.get((op.user, op.mode), 0)
    if held + op.qty > LIMIT:
        assert outcome.code == "limit_reached"
        model.counted["refused.limit_reached"] += 1
        return outcome.code, ""
    expected = model.book.reserve(plan, op.qty)
    if expected is None:
        assert outcome.code == "sold_out"
        model.counted["refused.sold_out"] += 1
        return outcome.code, ""
    assert outcome.code == "ok" and outcome.order is not None
    assert tuple(tuple(part) for part in outcome.order["alloc"]) == expected
    model.holdings[(op.user, op.mode)] = held + op.qty
    model.live[outcome.order["id"]] = (op.user, op.mode, op.qty, plan.pool, expected)
    model.counted.update({"orders.accepted": 1, f"orders.{op.mode}": 1, f"units.{op.mode}": op.qty})
    return "ok", outcome.order["id"]


async def _release(store: StockStore, model: Model, order_id: str, step: int) -> None:
    outcome = await store.release(step, order_id, "cancelled")
    if order_id not in model.live:
        assert outcome.code == "already"
        return
    assert outcome.code == "ended"
    user, mode, qty, owner, alloc = model.live.pop(order_id)
    model.book.release(owner, alloc)
    model.holdings[(user, mode)] -= qty
    model.counted["orders.cancelled"] += 1


async def _assert_same_pools(store: StockStore, model: Model, op: object) -> None:
    actual = await store.pools()
    expected = {name: p.counters() for name, p in model.book.pools.items()}
    assert actual == expected, f"after {op}"
    returned = await store.returned_pools()
    assert returned == {n: p.returned_to for n, p in model.book.pools.items() if p.returned_to}
    assert model.book.broken_invariants() == []


async def _assert_same_counters(redis: Redis, keys: CampaignKeys, model: Model, op: object) -> None:
    raw = await redis.hgetall(keys.counters)
    actual = {text(k): int(v) for k, v in raw.items() if int(v)}
    assert actual == {k: n for k, n in model.counted.items() if n}, f"after {op}"
