from __future__ import annotations

from server.domain.campaign import parse_campaign
from server.domain.pools import Plan, PoolBook, PoolState, plan_for
from tests.campaigns import CANONICAL


def book(**pools: int) -> PoolBook:
    return PoolBook({name: PoolState(n, n) for name, n in pools.items()})


def test_reserve_takes_from_own_pool_first() -> None:
    b = book(group=5, distribution=5)
    assert b.reserve(Plan("group", (("distribution", 0),)), 3) == (("group", 3),)
    assert b.pools["group"].remaining == 2 and b.pools["group"].reserved == 3
    assert b.broken_invariants() == []


def test_borrowing_stops_at_the_lenders_floor() -> None:
    b = book(group=2, distribution=5)
    plan = Plan("group", (("distribution", 3),))
    assert b.reserve(plan, 4) == (("group", 2), ("distribution", 2))
    assert b.pools["group"].borrowed == 2 and b.pools["distribution"].lent == 2
    assert b.reserve(plan, 1) is None  # distribution is at its floor of 3
    assert b.pools["distribution"].remaining == 3
    assert b.broken_invariants() == []


def test_refused_reservation_changes_nothing() -> None:
    b = book(presale=1)
    before = {n: p.counters() for n, p in b.pools.items()}
    assert b.reserve(Plan("presale"), 2) is None
    assert {n: p.counters() for n, p in b.pools.items()} == before


def test_release_returns_units_to_the_pools_they_came_from() -> None:
    b = book(group=1, distribution=4)
    alloc = b.reserve(Plan("group", (("distribution", 0),)), 3)
    assert alloc is not None
    b.release("group", alloc)
    assert b.pools["group"].counters() == PoolState(1, 1).counters()
    assert b.pools["distribution"].counters() == PoolState(4, 4).counters()


def test_return_of_unsold_reserve_moves_units_once() -> None:
    b = book(presale=5, group=10)
    alloc = b.reserve(Plan("presale"), 2)
    assert b.return_unsold("presale", "group") == 3
    assert b.return_unsold("presale", "group") == 0
    assert (b.pools["presale"].remaining, b.pools["group"].remaining) == (0, 13)
    assert alloc is not None
    b.release("presale", alloc)  # a presale order released after presale closed
    assert (b.pools["presale"].remaining, b.pools["group"].remaining) == (0, 15)
    assert b.pools["group"].moved_in == 5 and b.pools["presale"].moved_out == 5
    assert b.broken_invariants() == []
    assert b.total_remaining() == 15


def test_canonical_plans() -> None:
    c = parse_campaign(CANONICAL)
    assert plan_for(c, "presale") == Plan("presale")
    assert plan_for(c, "group") == Plan("group", (("distribution", 1000),))
    assert plan_for(c, "direct").encode() == "distribution;group:2000"
