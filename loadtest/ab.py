"""A/B of the order path: the same gateway under two settings, measured in one run.

Both gateways are up at once (1 worker each) and measured in turn (A B, B A, A B, ...), with
wrk placing single-unit orders from many viewers (as loadtest/bench.py does), so a slow spell
of the machine falls on both alike; each figure is the median of its rounds. What it
reports is the gateway's CPU per accepted order (from /proc, which no neighbour changes) and
orders/s beside it. The settings differ by environment variables:

    python -m loadtest.ab --a LIVEROOM_RATE_LIMITS=orders.viewer=off,orders.address=off \\
                          --b LIVEROOM_RATE_LIMITS=orders.address=1000000/1000000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
from typing import Any

import orjson
import psutil

from loadtest.bench import (
    BENCH_RATE_LIMITS,
    WARM_UP_S,
    Bench,
    cpu_seconds,
    process,
    wait_ready,
    wrk,
)


def _env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        env[name] = value
    return env


def run(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args.redis_url, args.seconds, args.connections, args.port, BENCH_RATE_LIMITS)
    sides = {"a": _env(args.a), "b": _env(args.b)}
    measured: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    try:
        with contextlib.ExitStack() as stack:
            servers = {}
            for i, (side, env) in enumerate(sides.items()):
                port = args.port + i
                proc = stack.enter_context(
                    process(
                        [sys.executable, "-m", "server", "serve", "--port", str(port)],
                        {**bench.env, **env},
                    )
                )
                servers[side] = (f"http://127.0.0.1:{port}", proc)
            for base, proc in servers.values():
                wait_ready(f"{base}/readyz", proc)
            base = servers["a"][0]
            campaigns = {(side, r): f"ab-{side}-{r}" for side in sides for r in range(args.rounds)}
            for cid in campaigns.values():
                asyncio.run(bench._install(base, cid, 5_000_000))
            for side, (side_base, _) in servers.items():
                asyncio.run(
                    bench._known_to_every_worker(
                        side_base, *(c for (s, _), c in campaigns.items() if s == side)
                    )
                )
            for r in range(args.rounds):  # A B, then B A: neither side always goes first
                for side in ("a", "b") if r % 2 == 0 else ("b", "a"):
                    side_base, proc = servers[side]
                    url = f"{side_base}/api/v1/campaigns/{campaigns[side, r]}/orders"
                    measured[side].append(_measure(url, proc, bench, args))
    finally:
        asyncio.run(bench.clean_up())
    return {side: _summary(runs) for side, runs in measured.items()} | {"settings": sides}


def _measure(url: str, proc: Any, bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    tree = psutil.Process(proc.pid)
    wrk(url, bench.tokens, WARM_UP_S, args.connections)
    before = cpu_seconds(tree)
    result = wrk(url, bench.tokens, args.seconds, args.connections)
    result["cpu_us"] = (cpu_seconds(tree) - before) * 1e6 / max(1, result["requests"])
    return result


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cpu_us_per_order": round(statistics.median(r["cpu_us"] for r in runs), 1),
        "cpu_us_rounds": [round(r["cpu_us"], 1) for r in runs],
        "orders_per_s": round(statistics.median(r["per_s"] for r in runs)),
        "answers": sorted({status for r in runs for status in r["answers"]}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--a", action="append", default=[], help="NAME=value for gateway A")
    parser.add_argument("--b", action="append", default=[], help="NAME=value for gateway B")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--port", type=int, default=8130)
    args = parser.parse_args()
    result = run(args)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    a, b = result["a"]["cpu_us_per_order"], result["b"]["cpu_us_per_order"]
    print(f"gateway CPU per accepted order: A {a} µs, B {b} µs ({(b - a) / a:+.1%} B vs A)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
