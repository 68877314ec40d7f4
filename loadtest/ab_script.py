"""A/B of reserve.lua: the script at a git revision against the working tree's, straight from
redis-benchmark as loadtest/bench.py's ceiling runs it (one order per call, then 64), in
alternating rounds so a slow spell of the machine falls on both alike; medians and spread.

    python -m loadtest.ab_script --base 25cc905 --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
from typing import Any

from loadtest.bench import Bench
from server.store.scripts import lua_source

_INCLUDE = re.compile(r"^-- include: (\w+)$", re.MULTILINE)


def source_at(revision: str, name: str) -> str:
    """The script as it was at a revision, its includes pasted in as the loader does."""

    def read(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{revision}:lua/{path}"], capture_output=True, text=True, check=True
        ).stdout

    return _INCLUDE.sub(lambda m: read(f"include/{m[1]}.lua").rstrip("\n"), read(f"{name}.lua"))


def ceiling(redis_url: str, source: str) -> dict[str, Any]:
    run = Bench(redis_url, 5, 100, 0, "")
    try:
        return run.redis_ceiling(source)
    finally:
        asyncio.run(run.clean_up())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    sources = {args.base: source_at(args.base, "reserve"), "working tree": lua_source("reserve")}
    if "cmsgpack.unpack(ARGV" not in sources[args.base]:
        # redis-benchmark sends one argument list to both: the format must be the same
        parser.error(
            f"--base {args.base} takes orders as text, not MessagePack (before f567f14): "
            "compare it with python -m loadtest.lua_cost instead"
        )
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    for round_ in range(args.rounds):
        order = list(sources) if round_ % 2 == 0 else list(reversed(sources))
        for name in order:
            runs[name].append(ceiling(args.redis_url, sources[name]))
    print("| reserve.lua | per call | orders/s (rounds) | µs per order (Redis's one thread) |")
    print("|---|---|---|---|")
    for name, found in runs.items():
        for per_call in ("1_per_call", "64_per_call"):
            rates = [run[per_call]["orders_per_s"] for run in found]
            median = statistics.median(rates)
            spread = f"{min(rates):,}–{max(rates):,}"
            calls = per_call.split("_")[0]
            print(f"| {name} | {calls} | {median:,.0f} ({spread}) | {1e6 / median:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
