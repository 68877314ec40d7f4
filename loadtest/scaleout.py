"""The 开抢 spike over several gateways and workers, with the CPU each party spent per order.

Starts --gateways `liveroom serve` processes (one each, on consecutive ports, as separate
hosts behind a load balancer would be) and --workers `liveroom worker` processes against the
Redis (or Redis Cluster) at REDIS_URL and the ledger at DATABASE_URL, all sharing fresh
secrets and a fresh key prefix, the simulated clock at the presale's opening and the demo's
viewer login. Then the spike of loadtest/spike.py goes round-robin over every gateway, with
a live feed open on each (their verdict: every gateway's feed shows the final stock and its
seq advances), and the CPU every party spent is read before and after: the gateways' and
workers' processes (/proc), every Redis node (INFO cpu), every PostgreSQL process, and this
client. The report: the spike's verdict and figures, and the CPU per accepted order of each
party, from which docs/performance.md sizes a broadcast.

    REDIS_URL=redis+cluster://127.0.0.1:7000,127.0.0.1:7001 \\
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/rehearsal \\
    python -m loadtest.scaleout --gateways 4 --workers 2 --units 20000 --factor 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import aiohttp
import psutil
from redis.asyncio.cluster import RedisCluster

from loadtest.bench import cpu_seconds, process
from loadtest.client import Client, process_cpu_s
from loadtest.spike import report, run
from server.demo_reset import forget_keys
from server.demo_secrets import fresh
from server.domain.campaign import MAX_BUCKETS
from server.settings import DEMO_RATE_LIMITS
from server.store.connection import connect, is_cluster

PRESALE_OPENS = "2026-09-01T20:00:00+08:00"  # the canonical campaign's first window
PARTIES = ("gateways", "redis", "workers", "postgresql", "client")


def rehearsal_env(redis_url: str, database_url: str, key_prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        **fresh(),
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "LIVEROOM_KEY_PREFIX": key_prefix,
        "LIVEROOM_CLOCK": "simulated",
        "LIVEROOM_CLOCK_START": PRESALE_OPENS,
        "LIVEROOM_DEMO_LOGIN": "1",
        "LIVEROOM_RATE_LIMITS": DEMO_RATE_LIMITS,  # one client address plays every viewer
    }


async def redis_cpu_s(redis_url: str) -> float:
    """CPU seconds of every Redis node so far (a cluster's replicas included)."""
    redis = connect(redis_url, timeout_s=5)
    try:
        if is_cluster(redis):
            nodes = await redis.info("cpu", target_nodes=RedisCluster.ALL_NODES)
            infos = list(nodes.values())
        else:
            infos = [await redis.info("cpu")]
    finally:
        await redis.aclose()
    return sum(float(i["used_cpu_sys"]) + float(i["used_cpu_user"]) for i in infos)


def postgres_cpu_s() -> float:
    """CPU seconds of PostgreSQL on this machine so far: its postmaster, the backends it
    has reaped (closed connections) and the live ones."""
    total = 0.0
    for proc in psutil.process_iter(["name", "ppid"]):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if (
                proc.info["name"] != "postgres"
                or psutil.Process(proc.info["ppid"]).name() == "postgres"
            ):
                continue
            reaped = proc.cpu_times()
            total += reaped.children_user + reaped.children_system
            total += sum(process_cpu_s(p) for p in [proc, *proc.children(recursive=True)])
    return total


async def cpu_by_party(
    gateways: list[psutil.Process], workers: list[psutil.Process], redis_url: str
) -> dict[str, float]:
    return {
        "gateways": sum(cpu_seconds(p) for p in gateways),
        "redis": await redis_cpu_s(redis_url),
        "workers": sum(cpu_seconds(p) for p in workers),
        "postgresql": postgres_cpu_s(),
        "client": process_cpu_s(psutil.Process()),
    }


async def ready(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/readyz") as answer:
                    if answer.status == 200:
                        return
            if time.monotonic() > deadline:
                raise SystemExit(f"{base} did not become ready")
            await asyncio.sleep(0.5)


async def rehearse(args: argparse.Namespace) -> dict[str, Any]:
    """args: redis_url, database_url, key_prefix, ports (one per gateway), workers, units,
    factor, concurrency, buckets (the campaign's stock buckets)."""
    env = rehearsal_env(args.redis_url, args.database_url, args.key_prefix)
    liveroom = [sys.executable, "-m", "server"]
    bases = [f"http://127.0.0.1:{port}" for port in args.ports]
    workers = [
        ([*liveroom, "worker"], {**env, "LIVEROOM_WORKER_NAME": f"rehearsal-{i}"})
        for i in range(args.workers)
    ]
    gateways = [([*liveroom, "serve", "--port", str(port)], env) for port in args.ports]
    with contextlib.ExitStack() as running:

        def start(commands: list[tuple[list[str], dict[str, str]]]) -> list[psutil.Process]:
            """Each terminated when the rehearsal is over; their logs are not kept."""
            started = [process(cmd, cmd_env, subprocess.DEVNULL) for cmd, cmd_env in commands]
            return [psutil.Process(running.enter_context(proc).pid) for proc in started]

        worker_procs, gateway_procs = start(workers), start(gateways)
        for base in bases:
            await ready(base)
        at: dict[str, tuple[float, dict[str, float]]] = {}  # phase -> (time, CPU by party)

        async def mark(phase: str) -> None:
            cpu = await cpu_by_party(gateway_procs, worker_procs, args.redis_url)
            at[phase] = (time.monotonic(), cpu)

        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(bases[0], connector=connector) as session:
            client = Client(session, env["LIVEROOM_OPS_TOKEN"], env["LIVEROOM_PAYMENT_SECRET"])
            result = await run(
                client,
                bases,
                args.units,
                args.factor,
                args.concurrency,
                120,
                mark,
                buckets=args.buckets,
            )
    (went, cpu_went), (answered, _), (settled, cpu_settled) = (
        at[phase] for phase in ("go", "answered", "settled")
    )
    result["phases_s"] = {
        "spike": round(answered - went, 2),
        "ledger_catch_up": round(settled - answered, 2),
    }
    # From 开抢 until the ledger holds every order: the orders' whole cost, the logins and
    # the feeds' idle time before it left out.
    spent = {party: cpu_settled[party] - cpu_went[party] for party in PARTIES}
    result["cpu_s"] = {party: round(seconds, 2) for party, seconds in spent.items()}
    for name, count in (("accepted_order", result["accepted"]), ("attempt", result["attempts"])):
        result[f"cpu_us_per_{name}"] = {
            party: round(seconds * 1e6 / max(count, 1)) for party, seconds in spent.items()
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--gateways", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8900, help="the first gateway's port")
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--factor", type=int, default=2, help="attempts per unit")
    parser.add_argument("--concurrency", type=int, default=256, help="attempts in flight")
    parser.add_argument("--buckets", type=int, default=1, help="the campaign's stock buckets")
    args = parser.parse_args()
    if not 1 <= args.buckets <= MAX_BUCKETS:
        parser.error(f"--buckets must be 1-{MAX_BUCKETS}")
    args.ports = [args.port + i for i in range(args.gateways)]
    args.key_prefix = f"rehearsal{uuid.uuid4().hex[:8]}"  # deleted when the run is over
    args.redis_url = os.environ.get("REDIS_URL", "")
    args.database_url = os.environ.get("DATABASE_URL", "")
    if not args.redis_url or not args.database_url:
        parser.error("REDIS_URL and DATABASE_URL must name the Redis and the ledger to rehearse on")
    if not 1 <= args.gateways <= 32 or not 1 <= args.workers <= 32:
        parser.error("--gateways and --workers must be 1-32")
    if not 1 <= args.units <= 1_000_000 or not 1 <= args.factor <= 100:
        parser.error("--units must be 1-1000000 and --factor 1-100")
    try:
        result = asyncio.run(rehearse(args))
    finally:  # the throwaway campaign's keys: never left on a Redis others may share
        asyncio.run(forget_keys(args.redis_url, args.key_prefix))
    print(report(result))
    phases = result["phases_s"]
    print(
        f"  from 开抢: every attempt answered in {phases['spike']} s, "
        f"the ledger caught up {phases['ledger_catch_up']} s later"
    )
    for figure in ("cpu_s", "cpu_us_per_accepted_order", "cpu_us_per_attempt"):
        parties = ", ".join(f"{party} {value}" for party, value in result[figure].items())
        print(f"  CPU {figure.removeprefix('cpu_')}: {parties}")
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
