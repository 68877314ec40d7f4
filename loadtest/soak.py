"""Soak: the 开抢 spike while the gateway is under attack from clients that misbehave.

Starts its own `liveroom demo --no-sim` (embedded Valkey, a fresh data dir, the gateway's
default limits) and, while a 10x spike runs against it (loadtest/spike.py):
  - `--slow` slowloris clients, each sending one header byte every 10 s (and reconnecting
    when the gateway hangs up on them);
  - a 1 GiB chunked upload to the payment webhook, unauthenticated, retried for as long as
    the soak lasts (each attempt is cut off at the body limit);
  - `--silent` live-feed clients that complete the websocket handshake and never read;
  - a probe asking /healthz every 100 ms.
The verdict: the gateway's peak RSS under `--rss-mib`, /healthz always answered within 1 s,
the spike's own verdict PASS (which includes a clean reconcile).

    python -m loadtest.soak --slow 1500 --silent 300 --units 2000 --factor 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil

from loadtest.client import Client
from loadtest.spike import report as spike_report
from loadtest.spike import run as run_spike
from server import demo_secrets

GIB = 1 << 30


@dataclass
class Soak:
    base: str
    slow_connected: int = 0
    slow_cut_off: int = 0
    upload_attempts: int = 0
    upload_bytes_sent: int = 0
    silent_connected: int = 0
    probes: list[float] = field(default_factory=list)
    probe_failures: int = 0
    rss_peak: int = 0

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.base.removeprefix("http://").split(":")
        return host, int(port)


async def slowloris(soak: Soak, stop: asyncio.Event, index: int) -> None:
    """One header byte every 10 s, forever; a new connection when the gateway hangs up."""
    request = f"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nX-Slow-{index}: ".encode()
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(*soak.host_port)
        except OSError:
            await asyncio.sleep(1)
            continue
        soak.slow_connected += 1
        try:
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                # wait 10 s, or less if the gateway hangs up first (EOF)
                hung_up = asyncio.ensure_future(reader.read(1))
                stopped = asyncio.ensure_future(stop.wait())
                done, pending = await asyncio.wait(
                    [hung_up, stopped], timeout=10, return_when=asyncio.FIRST_COMPLETED
                )
                for future in pending:
                    future.cancel()
                if hung_up in done:  # EOF, or a reset: either way, cut off
                    hung_up.exception()
                    soak.slow_cut_off += 1
                    break
                if stopped in done:
                    break
        except OSError:
            soak.slow_cut_off += 1
        finally:
            writer.close()


async def upload_gib(soak: Soak, stop: asyncio.Event) -> None:
    """A 1 GiB chunked body to the webhook, again and again, 64 KiB a chunk."""
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    head = (
        b"POST /api/v1/payments/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    while not stop.is_set():
        soak.upload_attempts += 1
        try:
            _, writer = await asyncio.open_connection(*soak.host_port)
            writer.write(head)
            sent = 0
            while sent < GIB and not stop.is_set():
                writer.write(chunk)
                await writer.drain()
                sent += 0x10000
                soak.upload_bytes_sent += 0x10000
            writer.close()
        except OSError:
            await asyncio.sleep(0.2)


async def silent_feed(soak: Soak, stop: asyncio.Event, campaign_id: str) -> None:
    """A live-feed websocket that is opened and never read."""
    handshake = (
        f"GET /ws/live/{campaign_id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    with contextlib.suppress(OSError):
        sock = socket.create_connection(soak.host_port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills fast
        sock.sendall(handshake)
        soak.silent_connected += 1
        try:
            await stop.wait()
        finally:
            sock.close()


async def probe(soak: Soak, stop: asyncio.Event) -> None:
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(soak.base, timeout=timeout) as session:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                async with session.get("/healthz") as r:
                    await r.read()
                    if r.status != 200:
                        soak.probe_failures += 1
            except (aiohttp.ClientError, TimeoutError):
                soak.probe_failures += 1
            soak.probes.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)


async def sample_rss(soak: Soak, stop: asyncio.Event, pid: int) -> None:
    gateway = psutil.Process(pid)
    while not stop.is_set():
        soak.rss_peak = max(soak.rss_peak, gateway.memory_info().rss)
        await asyncio.sleep(0.1)


async def soak_run(args: argparse.Namespace, pid: int, secrets: dict[str, str]) -> dict[str, Any]:
    soak = Soak(args.base)
    stop = asyncio.Event()
    background = [
        asyncio.create_task(sample_rss(soak, stop, pid)),
        asyncio.create_task(probe(soak, stop)),
        asyncio.create_task(upload_gib(soak, stop)),
        *(asyncio.create_task(silent_feed(soak, stop, "mid-autumn")) for _ in range(args.silent)),
    ]
    for i in range(args.slow):  # ramped: a burst of 1,500 connects is not the attack
        background.append(asyncio.create_task(slowloris(soak, stop, i)))
        if i % 100 == 99:
            await asyncio.sleep(0.1)
    await asyncio.sleep(args.before)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(args.base, connector=connector) as session:
        client = Client(session, secrets["LIVEROOM_OPS_TOKEN"], secrets["LIVEROOM_PAYMENT_SECRET"])
        spike = await run_spike(client, [args.base], args.units, args.factor, 256, 60)
    await asyncio.sleep(args.after)
    stop.set()
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    return verdict(soak, spike, args.rss_mib)


def verdict(soak: Soak, spike: dict[str, Any], rss_mib: int) -> dict[str, Any]:
    slowest = max(soak.probes, default=float("inf"))
    problems = []
    if soak.rss_peak > rss_mib * 1024 * 1024:
        problems.append(f"gateway peak RSS {soak.rss_peak >> 20} MiB > {rss_mib} MiB")
    if slowest > 1.0 or soak.probe_failures:
        problems.append(f"/healthz: slowest {slowest:.3f} s, {soak.probe_failures} failed")
    if spike["verdict"] != "PASS":
        problems.append("the spike's verdict is " + spike["verdict"])
    return {
        "verdict": "PASS" if not problems else "FAIL",
        "problems": problems,
        "gateway_rss_peak_mib": round(soak.rss_peak / 2**20, 1),
        "rss_bound_mib": rss_mib,
        "healthz": {
            "probes": len(soak.probes),
            "failed": soak.probe_failures,
            "p50_ms": round(sorted(soak.probes)[len(soak.probes) // 2] * 1000, 1),
            "max_ms": round(slowest * 1000, 1),
        },
        "slow_clients": {"connections": soak.slow_connected, "cut_off": soak.slow_cut_off},
        "upload": {"attempts": soak.upload_attempts, "bytes_sent": soak.upload_bytes_sent},
        "silent_feeds": soak.silent_connected,
        "spike": spike,
    }


def report(result: dict[str, Any]) -> str:
    h = result["healthz"]
    lines = [
        f"gateway peak RSS {result['gateway_rss_peak_mib']} MiB (bound {result['rss_bound_mib']})",
        f"/healthz: {h['probes']} probes, {h['failed']} failed, p50 {h['p50_ms']} ms, "
        f"max {h['max_ms']} ms",
        f"slow clients: {result['slow_clients']['connections']} connections, "
        f"{result['slow_clients']['cut_off']} cut off by the gateway",
        f"1 GiB uploads: {result['upload']['attempts']} attempts, "
        f"{result['upload']['bytes_sent'] >> 20} MiB sent before being cut off",
        f"silent feed clients: {result['silent_feeds']}",
        spike_report(result["spike"]),
        "soak verdict: " + result["verdict"] + "".join(f"\n  - {p}" for p in result["problems"]),
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def demo(port: int) -> Any:
    data_dir = Path(tempfile.mkdtemp(prefix="liveroom-soak-"))
    secrets = demo_secrets.for_demo(data_dir)
    env = {**os.environ, "REDIS_URL": "", "DATABASE_URL": ""}
    command = [sys.executable, "-m", "server", "demo", "--no-sim", "--port", str(port)]
    log = (data_dir / "demo.log").open("wb")
    server = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the demo did not start: see {data_dir / 'demo.log'}")
            time.sleep(0.2)
        time.sleep(1)
        yield server, secrets
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--slow", type=int, default=1500, help="slowloris clients")
    parser.add_argument("--silent", type=int, default=300, help="feed clients that never read")
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--before", type=float, default=15.0, help="seconds of attack first")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of attack after")
    parser.add_argument("--rss-mib", type=int, default=256, help="the gateway's RSS bound")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (0 <= args.slow <= 10_000 and 0 <= args.silent <= 10_000):
        parser.error("--slow and --silent must be 0-10000")
    with demo(args.port) as (server, secrets):
        args.base = f"http://127.0.0.1:{args.port}"
        result = asyncio.run(soak_run(args, server.pid, secrets))
    print(
        orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() if args.json else report(result)
    )
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
