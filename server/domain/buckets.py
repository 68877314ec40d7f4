"""Stock buckets as plain rules: one campaign's stock split over K keyspaces, each with its
own hash tag, so on a Redis Cluster K shards' cores place its orders (issue 17, item 5;
docs/stock-buckets.md has the whole design).

- A bucket is a whole keyspace: bucket 0 is the campaign's own (`{cid}`), bucket b its own
  tag (`{cid@n}`), chosen so the K tags spread over the cluster's slots.
- A buyer's orders go to one bucket (`bucket_of`), so their holdings, and with them the
  per-user limit, live in one place. Group buys all go to bucket 0: a group and its members
  must be in one slot.
- Each pool's units (and each borrowing floor) are split over the buckets; a pool only
  group buys draw on stays whole in bucket 0.
- A bucket short of units borrows them from another (`loan_from`): the donor's units move
  out of its `remaining` into `sent`, the borrower's `received` in, never in two places.
- Each warehouse is split over the buckets in proportion to their units
  (`split_warehouses`), and a loan carries as many warehouse units as stock units.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from server.domain.campaign import MAX_BUCKETS
from server.domain.pools import Plan, offers

PINNED_MODES = frozenset({"group"})  # modes whose every order goes to bucket 0
KEYSPACE_MARK = "@"  # "<campaign id>@<n>": a bucket's keyspace (campaign ids are slugs)


def bucket_tags(campaign_id: str, k: int) -> tuple[str, ...]:
    """The K keyspaces' hash tags, bucket 0 first. Bucket b's tag is the first
    "<cid>@<n>" whose slot lies near b/K of the way round the slot ring from the campaign's
    own slot: a cluster's shards hold contiguous slot ranges, so K tags spread evenly land
    on K different shards whenever the cluster has K shards of about equal size."""
    if not 1 <= k <= MAX_BUCKETS:
        raise ValueError(f"buckets must be 1 to {MAX_BUCKETS}, not {k}")
    home = key_slot(campaign_id.encode())
    tolerance = REDIS_CLUSTER_HASH_SLOTS // (8 * k)
    tags = [campaign_id]
    n = 0
    for b in range(1, k):
        target = (home + b * REDIS_CLUSTER_HASH_SLOTS // k) % REDIS_CLUSTER_HASH_SLOTS
        while True:
            n += 1
            tag = f"{campaign_id}{KEYSPACE_MARK}{n}"
            if _ring_distance(key_slot(tag.encode()), target) <= tolerance:
                tags.append(tag)
                break
    return tuple(tags)


def _ring_distance(a: int, b: int) -> int:
    d = abs(a - b)
    return min(d, REDIS_CLUSTER_HASH_SLOTS - d)


def bucket_of(user: str, mode: str, k: int) -> int:
    """The bucket that places a buyer's orders in this mode."""
    if k == 1 or mode in PINNED_MODES:
        return 0
    return zlib.crc32(user.encode()) % k


def campaign_of(keyspace: str) -> str:
    """The campaign a keyspace (or an order id's keyspace part) belongs to."""
    return keyspace.partition(KEYSPACE_MARK)[0]


def keyspace_of(order_id: str) -> str:
    """An order id is "<keyspace>.<number>": the keyspace that holds the order."""
    return order_id.rpartition(".")[0]


def payment_keyspace(payment_id: str) -> str:
    """A payment id is "<keyspace of its order>~<token>": the keyspace that holds it."""
    return payment_id.partition("~")[0]


def ledger_entry_id(stream_id: str, keyspace: str) -> str:
    """A stream entry's id as the ledger keeps it (with its campaign's id): each bucket's
    stream numbers its entries by the clock of its own shard, so two buckets' entries can
    share an id; a bucket's carry its mark ("<ms>-<seq>@<n>"), bucket 0's stay as they are."""
    _, mark, n = keyspace.partition(KEYSPACE_MARK)
    return f"{stream_id}{mark}{n}"


def split(units: int, k: int, *, pinned: bool = False) -> list[int]:
    """A count over K buckets: equal shares, the remainder to the first buckets; all of it
    in bucket 0 when pinned."""
    if pinned:
        return [units] + [0] * (k - 1)
    share, extra = divmod(units, k)
    return [share + (1 if b < extra else 0) for b in range(k)]


def pinned_pools(pool_modes: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """The pools only bucket-0 modes draw on as their own: kept whole in bucket 0."""
    return frozenset(
        pool for pool, modes in pool_modes.items() if set(modes) and set(modes) <= PINNED_MODES
    )


def split_pools(
    units: Mapping[str, int], k: int, pinned: frozenset[str] = frozenset()
) -> list[dict[str, int]]:
    """Each bucket's quota of each pool."""
    shares = {pool: split(n, k, pinned=pool in pinned) for pool, n in units.items()}
    return [{pool: shares[pool][b] for pool in units} for b in range(k)]


def split_warehouses(units: Mapping[str, int], totals: Sequence[int]) -> list[dict[str, int]]:
    """Each bucket's share of each warehouse: every warehouse's units split in proportion
    to the buckets' units (`totals`, adding up to all of them), so that each bucket's
    warehouse units are exactly its stock units and every warehouse is split alike."""
    whole = sum(totals)
    if whole != sum(units.values()):
        raise ValueError(f"the buckets hold {whole} units, the warehouses {sum(units.values())}")
    left = dict(units)
    shares: list[dict[str, int]] = []
    for b, total in enumerate(totals):
        if b == len(totals) - 1:
            shares.append(dict(left))
            break
        exact = {code: units[code] * total / whole if whole else 0 for code in units}
        share = {code: min(left[code], int(exact[code])) for code in units}
        short = total - sum(share.values())
        by_remainder = sorted(units, key=lambda code: (share[code] - exact[code], code))
        while short > 0:
            for code in by_remainder:
                if short > 0 and left[code] > share[code]:
                    share[code] += 1
                    short -= 1
        for code in units:
            left[code] -= share[code]
        shares.append(share)
    return shares


def bucket_plan(plan: Plan, b: int, k: int, pinned: frozenset[str] = frozenset()) -> Plan:
    """The plan as bucket b applies it: each lender's floor split like its pool, so the
    buckets' floors add up to the campaign's."""
    lenders = tuple(
        (name, split(floor, k, pinned=name in pinned)[b]) for name, floor in plan.lenders
    )
    return Plan(plan.pool, lenders)


def shortfall(plan: Plan, remaining: Mapping[str, int], qty: int) -> int:
    """Units a bucket lacks to serve qty by the plan (0: it can serve them)."""
    return max(0, qty - sum(units for _, units in offers(plan, remaining)))


def taken(plan: Plan, remaining: Mapping[str, int], qty: int) -> dict[str, int]:
    """The pools' remaining units once an order of qty units by the plan has its units
    (the reserve script's order: its own pool, then the lenders above their floors)."""
    after = dict(remaining)
    for pool, spare in offers(plan, remaining):
        units = min(spare, qty)
        after[pool] = after.get(pool, 0) - units
        qty -= units
    return after


def loan_size(need: int, donor_spare: int, k: int) -> int:
    """How many units to ask a donor for: what the order lacks, or a K-th of what the donor
    has to give when that is more, so a dry bucket's next orders need no loan of their own
    (one loan per order made a sell-out's end ten times slower than one bucket's); the
    shares shrink as the stock does, and units lent too far are lent on again."""
    return max(need, donor_spare // k)


def loan_from(
    donor_plan: Plan, donor_remaining: Mapping[str, int], need: int
) -> list[tuple[str, int]]:
    """What a donor bucket lends towards `need` units of an order by this plan: the plan's
    own pool first, then its lenders above the donor's floors, as (pool, units). The
    borrower takes each pool's units into the same pool."""
    lent: list[tuple[str, int]] = []
    for pool, spare in offers(donor_plan, donor_remaining):
        units = min(spare, need)
        if units > 0:
            lent.append((pool, units))
            need -= units
        if need == 0:
            break
    return lent


def donors_by_spare(
    plans: Sequence[Plan], remaining: Sequence[Mapping[str, int]], borrower: int
) -> list[int]:
    """The other buckets, the one with the most to give by its plan first."""
    spare = {
        b: sum(units for _, units in offers(plans[b], remaining[b]))
        for b in range(len(plans))
        if b != borrower
    }
    return sorted((b for b, units in spare.items() if units > 0), key=lambda b: -spare[b])
