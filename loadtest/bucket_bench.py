"""Orders per second against the number of stock buckets (issue 17, item 5).

One campaign's stock split into K buckets (K = 1, 2, 3 by default) on a Redis Cluster:
client processes place single-unit direct orders from fresh buyers through the bucketed
store (server/store/buckets.py), as many batches in flight per bucket as the gateways'
coalescers would send, for a fixed time. Measured per K: accepted orders/s, and each
primary's CPU (INFO cpu) per accepted order, from which the busiest shard's ceiling
(orders/s at one full core) follows: that ceiling, not this machine's throughput, is what
K buys on a cluster with a core per shard. Each run ends with the units checked (every
bucket adds up, no loan in flight). Then, per K, a campaign sold out batch after batch:
every unit a direct order may take is taken once, with the units the buckets lent each
other on the way. Results to docs/bench/buckets.json.

    python -m loadtest.bucket_bench --cluster redis+cluster://127.0.0.1:7000 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio.cluster import RedisCluster

from loadtest.spike import spike_campaign
from server.demo_reset import delete_keys
from server.domain.buckets import bucket_of
from server.domain.campaign import MAX_BUCKETS, parse_campaign
from server.domain.pools import available, plan_for
from server.store.buckets import BucketedStock
from server.store.connection import connect
from server.store.scripts import Scripts
from server.store.stock import OrderRequest

OUT = Path("docs/bench")
UNITS = 50_000_000  # never sold out: every measured order is placed
NOW_MS = 1788192000000  # 2026-09-01 00:00 +08:00: the direct window is open
CAMPAIGN = "bucket-bench"


def _orders(process: int, bucket: int, k: int, batch: int) -> Any:
    """Endless batches of single-unit direct orders from fresh buyers of one bucket."""
    campaign = parse_campaign(spike_campaign(CAMPAIGN, UNITS))
    plan, rules = plan_for(campaign, "direct"), campaign.window("direct")
    users = (f"b{process}-{n}" for n in itertools.count())
    mine = (u for u in users if bucket_of(u, "direct", k) == bucket)
    while True:
        yield [
            OrderRequest(next(mine), "direct", 1, rules.per_user_limit, plan, 100, NOW_MS + 1)
            for _ in range(batch)
        ]


async def _client(url: str, prefix: str, k: int, process: int, args: argparse.Namespace) -> int:
    redis = connect(url, timeout_s=10)
    stock = BucketedStock(redis, Scripts.register(redis), prefix, CAMPAIGN, k)
    await stock.init_pools(parse_campaign(spike_campaign(CAMPAIGN, UNITS)))
    deadline = time.monotonic() + args.seconds
    accepted = 0

    async def lane(bucket: int) -> None:
        nonlocal accepted
        for batch in _orders(process, bucket, k, args.batch):
            if time.monotonic() >= deadline:
                return
            outcomes = await stock.reserve(NOW_MS, batch)
            accepted += sum(o.code == "ok" for o in outcomes)

    try:
        await asyncio.gather(*(lane(b) for b in range(k) for _ in range(args.in_flight)))
    finally:
        await redis.aclose()
    return accepted


def _client_process(url: str, prefix: str, k: int, process: int, args: Any, out: Any) -> None:
    out.put(asyncio.run(_client(url, prefix, k, process, args)))


async def _cpu_by_node(url: str) -> dict[str, float]:
    """Each primary's CPU seconds so far (user + system)."""
    redis = connect(url, timeout_s=10)
    try:
        assert isinstance(redis, RedisCluster), "--cluster: a redis+cluster:// URL"
        await redis.initialize()
        cpu = {}
        for node in redis.get_primaries():
            info = await redis.info("cpu", target_nodes=node)
            cpu[node.name] = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        return cpu
    finally:
        await redis.aclose()


async def _setup(url: str, prefix: str, k: int) -> list[str]:
    redis = connect(url, timeout_s=10)
    try:
        stock = BucketedStock(redis, Scripts.register(redis), prefix, CAMPAIGN, k)
        await stock.init_pools(parse_campaign(spike_campaign(CAMPAIGN, UNITS)))
        assert isinstance(redis, RedisCluster), "--cluster: a redis+cluster:// URL"
        return sorted({redis.get_node_from_key(s.keys.pools).name for s in stock.buckets})
    finally:
        await redis.aclose()


async def _check(url: str, prefix: str, k: int, accepted: int) -> dict[str, Any]:
    redis = connect(url, timeout_s=10)
    try:
        stock = BucketedStock(redis, Scripts.register(redis), prefix, CAMPAIGN, k)
        pools = await stock.pools()
        reserved = sum(c["reserved"] for c in pools.values())
        quota = sum(c["quota"] for c in pools.values())
        left = sum(c["remaining"] for c in pools.values())
        return {
            "units_add_up": reserved == accepted and left + reserved == quota,
            "loans_in_flight": len(await stock.loans_in_flight()),
        }
    finally:
        await redis.aclose()


async def _forget(url: str, prefix: str) -> None:
    redis = connect(url, timeout_s=10)
    try:
        await delete_keys(redis, prefix)
    finally:
        await redis.aclose()


def run(url: str, k: int, args: argparse.Namespace) -> dict[str, Any]:
    """One measured run of K buckets; its keys are deleted however it ends."""
    prefix = f"bb{uuid.uuid4().hex[:10]}"
    procs: list[multiprocessing.Process] = []
    try:
        shards = asyncio.run(_setup(url, prefix, k))
        before = asyncio.run(_cpu_by_node(url))
        out: multiprocessing.Queue[int] = multiprocessing.Queue()
        started = time.monotonic()
        procs = [
            multiprocessing.Process(target=_client_process, args=(url, prefix, k, p, args, out))
            for p in range(args.processes)
        ]
        for proc in procs:
            proc.start()
        accepted = sum(out.get() for _ in procs)
        elapsed = time.monotonic() - started
        for proc in procs:
            proc.join()
        after = asyncio.run(_cpu_by_node(url))
        checks = asyncio.run(_check(url, prefix, k, accepted))
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        asyncio.run(_forget(url, prefix))
    cpu = {node: after[node] - before[node] for node in before}
    busiest = max(cpu.values())
    return {
        "k": k,
        "shards_holding_buckets": len(shards),
        "orders_per_s": round(accepted / elapsed),
        "redis_cpu_us_per_order": round(sum(cpu.values()) / accepted * 1e6, 1),
        "busiest_shard_cpu_us_per_order": round(busiest / accepted * 1e6, 1),
        "ceiling_orders_per_s": round(accepted / busiest) if busiest else None,
        **checks,
    }


async def _sell_out(url: str, k: int, units: int, batch: int) -> dict[str, Any]:
    """A campaign of `units` sold out by fresh buyers, batch after batch, until a whole
    batch is refused: every unit sold once, what the buckets lent each other for it."""
    prefix = f"bs{uuid.uuid4().hex[:10]}"
    redis = connect(url, timeout_s=10)
    try:
        stock = BucketedStock(redis, Scripts.register(redis), prefix, CAMPAIGN, k)
        campaign = parse_campaign(spike_campaign(CAMPAIGN, units))
        await stock.init_pools(campaign)
        plan, limit = plan_for(campaign, "direct"), campaign.window("direct").per_user_limit
        users = (f"s{n}" for n in itertools.count())
        accepted, started = 0, time.monotonic()
        while True:
            requests = [
                OrderRequest(next(users), "direct", 1, limit, plan, 100, NOW_MS + 1)
                for _ in range(batch)
            ]
            placed = sum(o.code == "ok" for o in await stock.reserve(NOW_MS, requests))
            accepted += placed
            if not placed:
                break
        pools = await stock.pools()
        return {
            "k": k,
            "units_direct_can_take": available(plan, campaign.pool_units()),
            "accepted": accepted,
            "seconds": round(time.monotonic() - started, 2),
            "units_lent": sum(c["sent"] for c in pools.values()),
            "loans_in_flight": len(await stock.loans_in_flight()),
        }
    finally:
        await delete_keys(redis, prefix)
        await redis.aclose()


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    middle = dict(runs[0])
    for field in ("orders_per_s", "redis_cpu_us_per_order", "busiest_shard_cpu_us_per_order"):
        middle[field] = statistics.median(r[field] for r in runs)
    middle["ceiling_orders_per_s"] = statistics.median(r["ceiling_orders_per_s"] for r in runs)
    middle["units_add_up"] = all(r["units_add_up"] for r in runs)
    middle["loans_in_flight"] = max(r["loans_in_flight"] for r in runs)
    return middle


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| buckets | shards | orders/s here | Redis CPU µs/order | busiest shard µs/order "
        "| busiest shard's ceiling (orders/s) | units add up |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['k']} | {r['shards_holding_buckets']} | {r['orders_per_s']:,.0f} "
            f"| {r['redis_cpu_us_per_order']} | {r['busiest_shard_cpu_us_per_order']} "
            f"| {r['ceiling_orders_per_s']:,.0f} | {'yes' if r['units_add_up'] else 'NO'} |"
        )
    return "\n".join(lines)


def sell_out_table(sold: list[dict[str, Any]]) -> str:
    lines = [
        "| buckets | units direct orders may take | accepted | units lent between buckets "
        "| seconds |",
        "|---|---|---|---|---|",
    ]
    for s in sold:
        lines.append(
            f"| {s['k']} | {s['units_direct_can_take']:,} | {s['accepted']:,} "
            f"| {s['units_lent']:,} | {s['seconds']} |"
        )
    return "\n".join(lines)


def _bucket_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--buckets: numbers like 1,2,3, not {text!r}") from None
    if not counts or not all(1 <= k <= MAX_BUCKETS for k in counts):
        raise argparse.ArgumentTypeError(f"--buckets: each 1 to {MAX_BUCKETS}, not {text!r}")
    return counts


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", required=True, help="redis+cluster://host:port,...")
    parser.add_argument("--buckets", type=_bucket_counts, default=[1, 2, 3])
    parser.add_argument("--seconds", type=_positive, default=10)
    parser.add_argument("--rounds", type=_positive, default=3)
    parser.add_argument("--processes", type=_positive, default=2, help="client processes")
    parser.add_argument("--in-flight", type=_positive, default=4, help="batches per bucket")
    parser.add_argument("--batch", type=_positive, default=48, help="orders per reserve call")
    parser.add_argument("--sell-out", type=_positive, default=20_000, help="units sold out")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not args.cluster.startswith(("redis+cluster://", "rediss+cluster://")):
        parser.error(f"--cluster: a redis+cluster:// URL, not {args.cluster!r}")
    results = []
    for k in args.buckets:
        runs = [run(args.cluster, k, args) for _ in range(args.rounds)]
        results.append(_median_run(runs))
        print(f"K={k}: {results[-1]}", file=sys.stderr)
    sold = [
        asyncio.run(_sell_out(args.cluster, k, args.sell_out, args.batch)) for k in args.buckets
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    out = {"throughput": results, "sell_out": sold}
    (args.out / "buckets.json").write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    print(table(results))
    print(sell_out_table(sold))
    whole = all(s["accepted"] == s["units_direct_can_take"] for s in sold)
    clean = all(r["units_add_up"] for r in results)
    clean = clean and not any(r["loans_in_flight"] for r in results + sold)
    return 0 if whole and clean else 1


if __name__ == "__main__":
    sys.exit(main())
