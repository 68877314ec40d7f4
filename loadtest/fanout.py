"""Fan-out benchmark: N live-feed websocket clients on one gateway process.

Starts `liveroom demo --no-sim` (one gateway process, embedded Valkey, its own data dir),
holds N connections to /ws/live/<campaign>, then places single-unit orders at a steady
rate. Every order lowers `stock.remaining` by one, so a client knows which order a
snapshot first reflects: order -> screen lag = arrival - the moment the order was
accepted. Reports lag p50/p99 over every (watcher, order) pair, whether every client saw
the sequence advance, the server's memory per idle connection, and how busy the gateway and
the clients were while orders flowed (on one machine a lag is the gateway's only if the
clients kept up). The clients can be spread over several processes, and all but `--watchers`
of them can be listeners: they read every frame (the gateway's work for them is the same)
but decode only its sequence number and are woken once per ~8 KiB, not once per frame, so
that 10,000 of them leave the gateway its share of the machine. `--screens` adds big screens
(/ws/dashboard/<campaign> with a screen token minted for the run): they watch too, at their
own pace (10 Hz against the live rooms' 2 Hz), and their lag is reported apart.

    python -m loadtest.fanout --clients 2000 --orders 100 --rate 10
    python -m loadtest.fanout --clients 20000 --orders 100 --rate 10 --watchers 200 \
        --screens 20 --client-processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil
import uvloop

from loadtest.client import process_cpu_s, snapshots
from server import demo_secrets
from server.settings import demo_defaults

_BATCH = 8192  # bytes a listener's kernel gathers before waking it (about a second of frames)
_SNAPSHOT = '{"type":"snapshot","seq":'  # how every snapshot frame begins (hub.py)


@dataclass
class Screen:
    watched: bool = True  # decodes every snapshot and times it; else reads only the seq
    big: bool = False  # a big screen's feed, not a live room's
    first_remaining: int | None = None
    seqs: list[int] = field(default_factory=list)
    seen_at: dict[int, float] = field(default_factory=dict)  # remaining -> first arrival


class _CpuShares:
    """How busy the gateway process was while orders flowed (percent of one core); the
    client processes report their own: on one machine, a lag is only the gateway's if the
    clients kept up."""

    def __init__(self, gateway_pid: int) -> None:
        self._gateway = psutil.Process(gateway_pid)
        self._start = (time.monotonic(), process_cpu_s(self._gateway))
        self.wall_s = 0.0

    def percent(self) -> dict[str, float]:
        self.wall_s = time.monotonic() - self._start[0]
        return {
            "gateway_cpu_percent": round(
                100 * (process_cpu_s(self._gateway) - self._start[1]) / self.wall_s
            )
        }


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _watch(
    session: aiohttp.ClientSession,
    url: str,
    screen: Screen,
    ready: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    # aiohttp's websocket reader is C-accelerated: 2,000 sockets cost the client little,
    # so the numbers measure the gateway rather than the benchmark.
    async with session.ws_connect(url, autoping=True, compress=0) as ws:
        async for arrival, body in snapshots(ws, stop):
            remaining = body["stock"]["remaining"]
            screen.seqs.append(body["seq"])
            if screen.first_remaining is None:
                screen.first_remaining = remaining
                ready.set()
            screen.seen_at.setdefault(remaining, arrival)


async def _listen(
    session: aiohttp.ClientSession,
    url: str,
    screen: Screen,
    ready: asyncio.Event,
    going: asyncio.Event,
    batched: list[Any],
) -> None:
    """A subscriber that reads every frame and decodes none: the gateway does the same work
    for it as for a watcher, the client only what aiohttp's C reader does. Runs until
    cancelled."""
    async with session.ws_connect(url, autoping=True, compress=0) as ws:
        await ws.receive()
        ready.set()
        # Wake only once the kernel holds a batch of bytes (around a second of snapshots):
        # the gateway still writes every frame as it is made (the kernel takes and
        # acknowledges it), but the client no longer pays a wake-up per frame. Batch sizes
        # differ so that the listeners do not all wake in the same tick.
        batch = random.randint(_BATCH // 2, _BATCH * 3 // 2)
        sock = ws.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, batch)
        batched.append(sock)
        async for message in ws:
            text = message.type == aiohttp.WSMsgType.TEXT
            if text and going.is_set() and message.data.startswith(_SNAPSHOT):
                # the sequence number is the snapshot's second field: read it, not the rest
                end = message.data.index(",", len(_SNAPSHOT))
                screen.seqs.append(int(message.data[len(_SNAPSHOT) : end]))


async def run(
    clients: int,
    orders: int,
    rate: float,
    port: int,
    processes: int = 1,
    watchers: int = 0,
    big_screens: int = 0,
) -> dict[str, Any]:
    """`watchers` of the live-room clients (0: all) decode and time every snapshot; the
    others read and drop their frames. `big_screens` more watch the big screen's feed."""
    watchers = watchers or clients
    data_dir = Path(tempfile.mkdtemp(prefix="liveroom-fanout-"))
    # the demo's own embedded Valkey and SQLite, as its docstring says: never a Redis or a
    # database the environment names (a demo resets every key under its prefix)
    env = {
        **os.environ,
        **demo_defaults(data_dir, demo_secrets.fresh()),
        "REDIS_URL": "",
        "DATABASE_URL": "",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "demo",
            "--no-sim",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/ws/live/mid-autumn"
    holders: list[_Holder] = []
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(base, connector=connector) as http:
            await _until_ready(http)
            gateway_pid = server.pid  # `liveroom demo` serves in its own process
            screen_url = await _screen_url(http, port, env["LIVEROOM_OPS_TOKEN"])
            await _warm_up(http, url)
            rss_before = _rss_kib(gateway_pid)

            def split(n: int) -> list[int]:
                return [n // processes + (i < n % processes) for i in range(processes)]

            holders = [
                _Holder(url, screen_url, *counts)
                for counts in zip(split(clients), split(watchers), split(big_screens), strict=True)
            ]
            for holder in holders:
                await holder.ask("ready", timeout=180)
            await asyncio.sleep(2)
            rss_idle = _rss_kib(gateway_pid)
            busy = _CpuShares(gateway_pid)
            for holder in holders:
                holder.tell("go")
            accepted_at = await _place_orders(http, orders, rate)
            await asyncio.sleep(2)
            cpu = busy.percent()
            screens: list[Screen] = []
            client_s = 0.0
            for holder in holders:
                holder.tell("stop")
                held, spent = await holder.ask("screens", timeout=120)
                screens += held
                client_s += spent
            cpu["client_cpu_percent"] = round(100 * client_s / busy.wall_s)
    finally:
        for holder in holders:
            holder.close()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    return (
        _results(screens, accepted_at, clients + big_screens, rss_before, rss_idle)
        | cpu
        | {"client_processes": processes, "watchers": watchers, "big_screens": big_screens}
    )


async def _screen_url(http: aiohttp.ClientSession, port: int, ops_token: str) -> str:
    """The big screen's feed, with a screen token minted for the run."""
    async with http.post(
        "/api/v1/ops/screen-tokens",
        json={"campaign_id": "mid-autumn", "label": "fanout"},
        headers={"Authorization": f"Bearer {ops_token}"},
    ) as r:
        assert r.status == 201, await r.text()
        token = (await r.json())["token"]
    return f"ws://127.0.0.1:{port}/ws/dashboard/mid-autumn?token={token}"


class _Holder:
    """A client process holding some of the feeds (one Python process cannot read the
    snapshots of many thousand clients at 10 Hz on its own)."""

    def __init__(self, url: str, screen_url: str, count: int, watching: int, big: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=_hold_feeds, args=(url, screen_url, count, watching, big, child_end)
        )
        self._process.start()

    def tell(self, word: str) -> None:
        self._pipe.send(word)

    async def ask(self, word: str, timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._pipe.poll():
            if not self._process.is_alive() or loop.time() > deadline:
                raise RuntimeError(f"a client process did not answer {word!r}")
            await asyncio.sleep(0.05)
        kind, value = self._pipe.recv()
        assert kind == word, (kind, word)
        return value

    def close(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=10)


def _hold_feeds(
    url: str, screen_url: str, count: int, watching: int, big: int, pipe: Connection
) -> None:
    uvloop.run(_hold(url, screen_url, count, watching, big, pipe))


async def _hold(
    url: str, screen_url: str, count: int, watching: int, big: int, pipe: Connection
) -> None:
    """Connect `count` live rooms, `watching` of them spread evenly through the connection
    order (so they sample every part of the gateway's fan-out loop), and `big` big screens
    among them; say ready, note CPU from "go" to "stop", send the screens."""
    stop, going = asyncio.Event(), asyncio.Event()
    batched: list[Any] = []  # the listeners' sockets
    watched = {k * count // watching for k in range(watching)}
    bigs = {k * count // big for k in range(big)} if big else set()
    screens = [Screen(watched=i in watched) for i in range(count)]
    for i in sorted(bigs, reverse=True):  # each big screen just before a live room
        screens.insert(i, Screen(big=True))
    readies = [asyncio.Event() for _ in screens]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = []
        for i, screen in enumerate(screens):  # connect in waves: the listen backlog is finite
            feed = (
                _watch(http, screen_url if screen.big else url, screen, readies[i], stop)
                if screen.watched
                else _listen(http, url, screen, readies[i], going, batched)
            )
            tasks.append(asyncio.create_task(feed))
            if i % 200 == 199:
                await asyncio.sleep(0.2)
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 170)
        pipe.send(("ready", None))
        await _heard(pipe, "go")
        going.set()
        me = psutil.Process()
        started = process_cpu_s(me)
        await _heard(pipe, "stop")
        spent = process_cpu_s(me) - started
        stop.set()
        for sock in batched:  # hand the listeners what the kernel still holds
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
        await asyncio.sleep(1)
        for task, screen in zip(tasks, screens, strict=True):
            if not screen.watched:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    pipe.send(("screens", (screens, spent)))


async def _heard(pipe: Connection, word: str) -> None:
    while not pipe.poll():
        await asyncio.sleep(0.01)
    assert pipe.recv() == word


async def _warm_up(http: aiohttp.ClientSession, url: str) -> None:
    """A few connections first, so that modules imported and caches filled on the first
    connection are not counted as memory per connection."""
    for _ in range(20):
        async with http.ws_connect(url, compress=0) as ws:
            await ws.receive(timeout=10)
    await asyncio.sleep(1)


async def _place_orders(http: aiohttp.ClientSession, orders: int, rate: float) -> list[float]:
    buyers = []  # one buyer per order: per-user limits must not refuse any
    for n in range(orders):
        async with http.post("/api/v1/sessions", json={"user_id": f"fanout-buyer-{n}"}) as r:
            buyers.append({"Authorization": f"Bearer {(await r.json())['token']}"})
    accepted_at = []
    for headers in buyers:
        started = time.perf_counter()
        body = {"mode": "direct", "qty": 1}
        async with http.post(
            "/api/v1/campaigns/mid-autumn/orders", headers=headers, json=body
        ) as r:
            assert r.status == 201, await r.text()
        accepted_at.append(time.perf_counter())
        await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    return accepted_at


def _results(
    screens: list[Screen], accepted_at: list[float], clients: int, rss_before: int, rss_idle: int
) -> dict[str, Any]:
    """Lag over every (watcher, order) pair, the live rooms' and the big screens' apart."""
    live = _lags([s for s in screens if s.watched and not s.big], accepted_at)
    big = _lags([s for s in screens if s.big], accepted_at)
    advancing = sum(1 for s in screens if _advanced(s))
    return {
        "clients": clients,
        "orders": len(accepted_at),
        **_quantiles("lag", live),
        **(_quantiles("screen_lag", big) if big else {}),
        "clients_seq_advanced": advancing,
        "kib_per_idle_connection": round((rss_idle - rss_before) / clients, 1),
    }


def _lags(watchers: list[Screen], accepted_at: list[float]) -> list[float]:
    lags = []
    for screen in watchers:
        assert screen.first_remaining is not None
        for k, at in enumerate(accepted_at):
            # the first snapshot that reflects order k (one snapshot may reflect several)
            target = screen.first_remaining - (k + 1)
            seen = [arrival for remaining, arrival in screen.seen_at.items() if remaining <= target]
            if seen:
                lags.append(max(0.0, min(seen) - at) * 1000)
    return lags


def _quantiles(name: str, lags: list[float]) -> dict[str, Any]:
    quantiles = statistics.quantiles(lags, n=100) if len(lags) > 1 else [0.0] * 99
    return {
        f"{name}_samples": len(lags),
        f"{name}_p50_ms": round(statistics.median(lags), 1) if lags else None,
        f"{name}_p99_ms": round(quantiles[98], 1),
    }


def _advanced(screen: Screen) -> bool:
    """The screen saw the sequence rise and never fall."""
    seqs = screen.seqs
    return (
        len(seqs) > 1
        and all(b >= a for a, b in zip(seqs, seqs[1:], strict=False))
        and seqs[-1] > seqs[0]
    )


async def _until_ready(http: aiohttp.ClientSession) -> None:
    for _ in range(120):
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get("/readyz") as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.5)
    raise RuntimeError("the gateway did not start")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="orders per second")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--client-processes", type=int, default=1, help="processes sharing the clients"
    )
    parser.add_argument(
        "--screens",
        type=int,
        default=0,
        help="big screens watching beside the live rooms (their lag is reported apart)",
    )
    parser.add_argument(
        "--watchers",
        type=int,
        default=0,
        help="clients that decode and time every snapshot (default: all); the rest read and "
        "drop their frames, so the client processes cost less of the machine",
    )
    args = parser.parse_args()
    if not 1 <= args.clients <= 20_000 or not 1 <= args.orders <= 10_000:
        parser.error("--clients 1-20000, --orders 1-10000")
    if not 0 <= args.screens <= 1000:
        parser.error("--screens 0-1000")
    if not 1 <= args.client_processes <= 16:
        parser.error("--client-processes 1-16")
    if not 0 <= args.watchers <= args.clients or 0 < args.watchers < args.client_processes:
        parser.error("--watchers 0 (all) or --client-processes to --clients")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * (args.clients + args.screens)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, wanted)), hard))
    # The client holds thousands of sockets on the same two cores as the gateway: give it
    # the event loop the gateway uses (uvloop, from uvicorn[standard]) so it measures the
    # server rather than itself.
    results = uvloop.run(
        run(
            args.clients,
            args.orders,
            args.rate,
            args.port,
            args.client_processes,
            args.watchers,
            args.screens,
        )
    )
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
