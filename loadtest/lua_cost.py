"""reserve.lua's cost in machine instructions per order, counted by valgrind's callgrind on a
redis-server of its own.

CPU time on this machine's two shared cores moves 10–25% from one minute to the next, so a
change of a few µs per order does not show in it; the instructions Redis executes for the
same calls are the same to within half a percent. Compares the script at git revisions
with the working tree's, at 1 and at 48 orders per call, each measured after a warm-up that
takes the campaign's hashes past their compact encoding (listpack, up to 512 fields, looked
up field by field) as a real broadcast's are long before its peak.

    python -m loadtest.lua_cost --base 011ee9c

Needs valgrind and redis-server (Debian: apt-get install valgrind redis-server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import re
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgpack
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from loadtest.ab_script import source_at
from loadtest.spike import spike_campaign
from server.domain.campaign import Campaign, parse_campaign
from server.domain.pools import plan_for
from server.store.keys import CampaignKeys
from server.store.scripts import Scripts, lua_source
from server.store.stock import OrderRequest, StockStore, reserve_keys

CAMPAIGN = "cost"
UNITS = 5_000_000  # never sold out: every measured order is placed
NOW_MS = 1788192000000  # 2026-09-01 00:00 +08:00: the direct window is open
WARM_ORDERS = 600  # past hash-max-listpack-entries (512): holdings, the buyers' lists
MEASURED_ORDERS = 960
_TOTALS = re.compile(r"^totals: (\d+)$", re.MULTILINE)


def packed(request: OrderRequest, source: str) -> bytes | str:
    """The order as the script at hand takes it: a MessagePack array since f567f14, its
    fields joined by the unit separator before (to measure a revision from before); the
    record its 14th field before the stock buckets' retry flag came in front of it."""
    fields = request.fields()
    if "a[15]" not in source:
        fields = (*fields[:13], fields[14])
    if "cmsgpack.unpack(ARGV" in source:
        packed: bytes = msgpack.packb([*map(str, fields[:-1]), str(fields[-1])[1:]])
        return packed
    return "\x1f".join(map(str, fields))


def orders(campaign: Campaign, users: Iterator[int], n: int) -> list[OrderRequest]:
    """n single-unit direct orders, each from a buyer not seen before."""
    rules = campaign.window("direct")
    return [
        OrderRequest(
            user=f"u{next(users)}",
            mode="direct",
            qty=1,
            limit=rules.per_user_limit,
            plan=plan_for(campaign, "direct"),
            unit_price_fen=campaign.sku.daily_price_fen,
            pay_before_ms=NOW_MS + rules.pay_within_s * 1000,
        )
        for _ in range(n)
    ]


@contextlib.asynccontextmanager
async def counted_server(out: Path) -> AsyncIterator[tuple[Redis, int]]:
    """A redis-server under callgrind with counting off, on a unix socket beside `out` (no
    port to find); yields a client and its pid."""
    unix_socket = out.parent / "redis.sock"
    # only inside EVALSHA: not the server's timers, whose runs would fall in the window
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    command += ["--toggle-collect=evalShaCommand"]
    command += [f"--callgrind-out-file={out}", "redis-server", "--port", "0"]
    command += ["--unixsocket", str(unix_socket)]
    # no rehashing from the server's timer: how much of it a call would find done would
    # depend on the time between calls, and the dict operations in the script do the rest
    command += ["--save", "", "--appendonly", "no", "--activerehashing", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis = Redis(unix_socket_path=str(unix_socket))
    try:
        for _ in range(300):  # valgrind takes a few seconds to start the server
            with contextlib.suppress(RedisConnectionError, OSError):
                await redis.ping()
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("redis-server under valgrind did not start")
        yield redis, server.pid
    finally:
        await redis.aclose()
        server.terminate()  # callgrind writes its counts as the server exits
        server.wait(timeout=60)


def counting(pid: int, on: bool) -> None:
    switch = ["callgrind_control", "-i", "on" if on else "off", str(pid)]
    subprocess.run(switch, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def instructions_per_order(
    source: str, per_call: int, warm: int = WARM_ORDERS, measured: int = MEASURED_ORDERS
) -> float:
    """Instructions Redis executes per order for `measured` orders, `per_call` a call."""
    campaign = parse_campaign(spike_campaign(CAMPAIGN, UNITS))
    users = itertools.count()
    with tempfile.TemporaryDirectory(prefix="liveroom-lua-cost-") as folder:
        out = Path(folder) / "callgrind.out"
        async with counted_server(out) as (redis, pid):
            keys = CampaignKeys("cost", CAMPAIGN)
            await StockStore(redis, Scripts.register(redis), keys).init_pools(campaign)
            sha = await redis.script_load(source)
            key_names = reserve_keys(keys)

            async def call(batch: list[OrderRequest]) -> None:
                args = [NOW_MS, CAMPAIGN, *(packed(r, source) for r in batch)]
                reply = await redis.evalsha(sha, len(key_names), *key_names, *args)
                assert reply[::2] == [b"ok"] * len(batch), reply[:2]

            for _ in range(max(1, warm // per_call)):
                await call(orders(campaign, users, per_call))
            calls = [orders(campaign, users, per_call) for _ in range(measured // per_call)]
            counting(pid, on=True)
            for batch in calls:
                await call(batch)
            counting(pid, on=False)
        found = _TOTALS.search(out.read_text())
    if found is None:
        raise RuntimeError("callgrind wrote no totals")
    return int(found[1]) / (len(calls) * per_call)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", action="append", default=[], help="a git revision (repeat)")
    args = parser.parse_args()
    sources = {rev: source_at(rev, "reserve") for rev in args.base}
    sources["working tree"] = lua_source("reserve")
    print("| reserve.lua | instructions per order, 1 per call | 48 per call |")
    print("|---|---|---|")
    for name, source in sources.items():
        one, batch = (asyncio.run(instructions_per_order(source, n)) for n in (1, 48))
        print(f"| {name} | {one:,.0f} | {batch:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
