"""The stock buckets' plain rules (server/domain/buckets.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from server.domain.buckets import (
    bucket_of,
    bucket_plan,
    bucket_tags,
    campaign_of,
    donors_by_spare,
    keyspace_of,
    loan_from,
    loan_size,
    pinned_pools,
    shortfall,
    split,
    split_pools,
    split_warehouses,
)
from server.domain.campaign import MAX_BUCKETS
from server.domain.pools import Plan

DIRECT = Plan("distribution", (("group", 4),))


@pytest.mark.parametrize("k", range(1, MAX_BUCKETS + 1))
def test_each_bucket_has_its_own_tag_and_the_first_is_the_campaigns(k: int) -> None:
    tags = bucket_tags("mid-autumn", k)
    assert len(set(tags)) == k and tags[0] == "mid-autumn"
    assert all(campaign_of(tag) == "mid-autumn" for tag in tags)
    assert bucket_tags("mid-autumn", k) == tags  # the same every time: order ids name them


@pytest.mark.parametrize("campaign_id", ["mid-autumn", "spring-sale", "a", "cny-2027"])
@pytest.mark.parametrize("k", [2, 3, 4])
def test_k_tags_spread_round_the_slot_ring_so_k_equal_shards_each_get_one(
    campaign_id: str, k: int
) -> None:
    slots = sorted(key_slot(tag.encode()) for tag in bucket_tags(campaign_id, k))
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    gaps.append(REDIS_CLUSTER_HASH_SLOTS - slots[-1] + slots[0])
    # every gap within a quarter of the even spacing: K shards of 16384/K slots hold one each
    # unless the campaign's own slot lies within that quarter of a shard's edge
    even = REDIS_CLUSTER_HASH_SLOTS / k
    assert all(abs(gap - even) <= even / 4 for gap in gaps), gaps


def test_a_bucket_count_outside_one_to_sixteen_is_refused() -> None:
    for k in (0, MAX_BUCKETS + 1):
        with pytest.raises(ValueError, match="buckets must be 1 to 16"):
            bucket_tags("mid-autumn", k)


def test_an_order_id_names_its_keyspace_and_its_campaign() -> None:
    assert keyspace_of("mid-autumn@17.1234") == "mid-autumn@17"
    assert campaign_of(keyspace_of("mid-autumn@17.1234")) == "mid-autumn"
    assert keyspace_of("mid-autumn.5") == "mid-autumn" == campaign_of("mid-autumn")


@given(st.text(min_size=1, max_size=20), st.integers(2, MAX_BUCKETS))
def test_a_buyer_keeps_one_bucket_and_group_buys_all_go_to_bucket_zero(user: str, k: int) -> None:
    b = bucket_of(user, "direct", k)
    assert 0 <= b < k and bucket_of(user, "presale", k) == b
    assert bucket_of(user, "group", k) == 0 and bucket_of(user, "direct", 1) == 0


def test_buyers_spread_evenly() -> None:
    counts = [0] * 4
    for i in range(40_000):
        counts[bucket_of(f"u{i}", "direct", 4)] += 1
    assert all(9_500 < n < 10_500 for n in counts), counts


@given(st.integers(0, 100_000), st.integers(1, MAX_BUCKETS), st.booleans())
def test_a_split_keeps_every_unit_and_differs_by_at_most_one(
    units: int, k: int, pinned: bool
) -> None:
    shares = split(units, k, pinned=pinned)
    assert len(shares) == k and sum(shares) == units and min(shares) >= 0
    if pinned:
        assert shares[0] == units
    else:
        assert max(shares) - min(shares) <= 1


def test_pools_only_group_buys_draw_on_stay_whole_in_bucket_zero() -> None:
    modes = {"presale": ["presale"], "group": ["group"], "distribution": ["direct"]}
    pinned = pinned_pools(modes)
    assert pinned == {"group"}
    shares = split_pools({"presale": 7, "group": 10, "distribution": 5}, 3, pinned)
    assert [s["group"] for s in shares] == [10, 0, 0]
    assert [s["presale"] for s in shares] == [3, 2, 2]
    assert [s["distribution"] for s in shares] == [2, 2, 1]


@given(
    st.lists(st.integers(0, 5_000), min_size=1, max_size=6),
    st.lists(st.integers(0, 1_000), min_size=1, max_size=MAX_BUCKETS),
)
def test_warehouses_split_so_each_bucket_holds_its_units_and_each_house_all_of_its(
    houses: list[int], weights: list[int]
) -> None:
    units = {f"w{i}": n for i, n in enumerate(houses)}
    whole, weight = sum(houses), sum(weights) or 1
    totals = [whole * w // weight for w in weights]
    totals[0] += whole - sum(totals)
    shares = split_warehouses(units, totals)
    assert [sum(share.values()) for share in shares] == totals
    assert {code: sum(s[code] for s in shares) for code in units} == units
    assert all(n >= 0 for share in shares for n in share.values())
    for share, total in zip(shares[:-1], totals, strict=False):  # in proportion, to a unit
        for code, n in units.items():
            assert abs(share[code] - n * total / (whole or 1)) < 1 + len(units)


def test_a_floor_is_split_like_its_pool() -> None:
    plans = [bucket_plan(DIRECT, b, 3) for b in range(3)]
    assert [dict(p.lenders)["group"] for p in plans] == [2, 1, 1]
    pinned = [bucket_plan(DIRECT, b, 3, frozenset({"group"})) for b in range(3)]
    assert [dict(p.lenders)["group"] for p in pinned] == [4, 0, 0]


def test_shortfall_counts_lenders_above_their_floor_only() -> None:
    assert shortfall(DIRECT, {"distribution": 2, "group": 5}, 3) == 0  # 2 + (5 - 4)
    assert shortfall(DIRECT, {"distribution": 2, "group": 5}, 4) == 1
    assert shortfall(DIRECT, {"distribution": 0, "group": 3}, 2) == 2


def test_a_donor_lends_its_own_pool_first_then_above_its_floors() -> None:
    assert loan_from(DIRECT, {"distribution": 3, "group": 9}, 2) == [("distribution", 2)]
    assert loan_from(DIRECT, {"distribution": 3, "group": 9}, 6) == [
        ("distribution", 3),
        ("group", 3),
    ]
    assert loan_from(DIRECT, {"distribution": 1, "group": 6}, 9) == [
        ("distribution", 1),
        ("group", 2),
    ]
    assert loan_from(DIRECT, {"distribution": 0, "group": 4}, 1) == []


def test_a_loan_is_what_the_order_lacks_or_a_kth_of_the_donors_spare() -> None:
    assert loan_size(2, 90, 3) == 30
    assert loan_size(40, 90, 3) == 40
    assert loan_size(1, 2, 3) == 1


def test_donors_are_asked_most_spare_first_and_never_the_borrower() -> None:
    remaining = [{"distribution": 0}, {"distribution": 5}, {"distribution": 9}, {}]
    assert donors_by_spare([DIRECT] * 4, remaining, 0) == [2, 1]
    assert donors_by_spare([DIRECT] * 4, remaining, 2) == [1]
