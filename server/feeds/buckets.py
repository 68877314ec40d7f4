"""What the feeds read from a campaign's other stock buckets (domain/buckets.py), merged
into what they read from its own keyspace: counters and pools summed, the stream's entries
counted and its newest joined, the distributors' volumes added up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from server.ledger.apply import stream_position
from server.store.keys import CampaignKeys
from server.store.stock import text

TOP_READ = 30  # each bucket's leaders read to merge the top 10: a rank's volume is a sum


@dataclass
class BucketReads:
    """Everything the other buckets add, as raw as Redis gave it."""

    counters: Counter[bytes] = field(default_factory=Counter)
    pools: dict[bytes, int] = field(default_factory=dict)
    leaders: Counter[bytes] = field(default_factory=Counter)
    entries_added: int = 0
    newest: list[Any] = field(default_factory=list)


async def read_other_buckets(
    redis: Redis, others: Sequence[CampaignKeys], *, newest: int = 0
) -> BucketReads:
    """One pipeline over the other buckets (each command in its own bucket's slot)."""
    reads = BucketReads()
    if not others:
        return reads
    async with redis.pipeline(transaction=False) as pipe:
        for keys in others:
            pipe.hgetall(keys.counters)
            pipe.hgetall(keys.pools)
            pipe.zrevrange(keys.leaders, 0, TOP_READ - 1, withscores=True)
            pipe.xinfo_stream(keys.stream)
            if newest:
                pipe.xrevrange(keys.stream, count=newest)
        results = await pipe.execute(raise_on_error=False)
    per_bucket = 5 if newest else 4
    for i in range(0, len(results), per_bucket):
        _add(reads, *results[i : i + per_bucket])
    return reads


def _add(
    reads: BucketReads, counters: Any, pools: Any, leaders: Any, info: Any, *newest: Any
) -> None:
    """One bucket's reads into the sums (a read that failed adds nothing)."""
    if isinstance(counters, dict):
        reads.counters.update({k: int(v) for k, v in counters.items()})
    if isinstance(pools, dict):
        reads.pools = summed_pools(reads.pools, pools)
    if isinstance(leaders, list):
        reads.leaders.update({code: int(score) for code, score in leaders})
    if isinstance(info, dict):
        reads.entries_added += int(info["entries-added"])
    if newest and isinstance(newest[0], list):
        reads.newest += newest[0]


def summed_counts(own: dict[bytes, Any], other: Counter[bytes]) -> dict[bytes, int]:
    total = Counter({k: int(v) for k, v in own.items()})
    total.update(other)
    return dict(total)


def summed_pools(own: dict[bytes, Any], other: dict[bytes, Any]) -> dict[bytes, Any]:
    merged: dict[bytes, Any] = dict(own)
    for name, value in other.items():
        if text(name).endswith(".returned_to"):
            merged.setdefault(name, value)
        else:
            merged[name] = int(merged.get(name, 0)) + int(value)
    return merged


def top_leaders(own: list[Any], other: Counter[bytes], most: int) -> list[tuple[Any, float]]:
    total: Counter[Any] = Counter({code: int(score) for code, score in own})
    total.update(other)
    return [(code, float(n)) for code, n in total.most_common(most)]


def newest_entries(own: list[Any], other: list[Any], most: int) -> list[Any]:
    """The newest stream entries of every bucket, newest first (ids compare by time)."""
    newest = sorted(own + other, key=lambda entry: stream_position(text(entry[0])), reverse=True)
    return newest[:most]
