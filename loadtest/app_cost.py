"""What the order path's own code costs: the gateway app and the bare endpoint driven in one
process through ASGI, with no HTTP parsing and no sockets on the client's side, so the CPU
they share with every request (uvicorn, the kernel's TCP) is out of the figures.

loadtest/bench.py measures whole requests: on loopback one response's send() alone costs the
kernel as much as the bare endpoint's Python, and that cost is the same for both. This tool
shows the part the code decides: CPU per request (process time, median of rounds) of
  - `orders`: the gateway's order lane placing single-unit orders from many viewers (the
    buyer facts and the reserve script in real Redis, batched per tick as in the spike);
  - `sold_out`: the same requests to a campaign whose stock is gone (answered without Redis);
  - `bare`: loadtest/bare.py's endpoint;
each less what the driver itself costs (an app that only answers). `--in-flight` requests
run at once, so the gateway's per-tick batching gets batches as large as under load.

    python -m loadtest.app_cost --rounds 5 --requests 9600
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import orjson
import uvloop
from starlette.types import Message, Receive, Scope, Send

import loadtest.bare as bare
from loadtest.bench import BENCH_RATE_LIMITS, VIEWERS, Bench
from loadtest.spike import spike_campaign
from server.gateway.app import create_app
from server.heap import settle_after_start_up
from server.settings import Settings

ORDER_BODY = orjson.dumps({"mode": "direct", "qty": 1})
GONE = "app-cost-gone"
OPEN_UNITS = 5_000_000  # the campaign's total: the direct pool's share never runs out


def _open(round_: int) -> str:
    """Each round's orders go to a campaign of their own: no viewer meets the per-user limit."""
    return f"app-cost-open-{round_}"


async def call(app: Any, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One request through `app`, as uvicorn would hand it over; the answer's status. Not
    httpx's ASGITransport: it builds a Request and a Response per call, ~270 µs against this
    driver's ~2 µs, a cost the subtraction would carry as noise larger than the figures."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    request: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> Message:
        if request:
            return request.pop()
        await asyncio.Event().wait()  # the client stays: nothing more ever comes
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def answer_only(scope: Scope, receive: Receive, send: Send) -> None:
    """The driver's own cost: an app that answers without reading anything."""
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def cpu_per_request(
    app: Any, path: str, tokens: list[str], requests: int, in_flight: int
) -> tuple[float, dict[int, int]]:
    """CPU µs per request for `requests` requests, `in_flight` at a time; and the statuses."""
    statuses: dict[int, int] = {}
    started = time.process_time()
    for first in range(0, requests, in_flight):
        answers = await asyncio.gather(
            *(
                call(app, "POST", path, ORDER_BODY, _headers(tokens[(first + i) % len(tokens)]))
                for i in range(in_flight)
            )
        )
        for status in answers:
            statuses[status] = statuses.get(status, 0) + 1
    done = sum(statuses.values())
    return (time.process_time() - started) * 1e6 / done, statuses


def _headers(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "content-type": "application/json"}


async def measure(
    bench: Bench, rounds: int, requests: int, in_flight: int, *, served_heap: bool = True
) -> dict[str, Any]:
    """served_heap: the served gateway's collector settings for this process (server/heap.py);
    off in a test, whose process goes on to other tests."""
    settings = Settings.from_env(bench.env)
    gateway = create_app(settings, bench.redis_url)
    tokens = bench.tokens.read_text().split()
    if requests + in_flight > len(tokens):
        raise ValueError(f"--requests: at most {len(tokens) - in_flight}: a viewer orders once")
    sides = {
        "orders": (gateway, "/api/v1/campaigns/{open}/orders"),
        "sold_out": (gateway, f"/api/v1/campaigns/{GONE}/orders"),
        "bare": (bare.app, "/orders"),
        "driver": (answer_only, "/"),
    }
    runs: dict[str, list[float]] = {side: [] for side in sides}
    statuses: dict[str, dict[int, int]] = {side: {} for side in sides}
    async with gateway.router.lifespan_context(gateway):
        for r in range(rounds + 1):  # round 0: the warm-up
            await _install(gateway, bench.ops, _open(r), OPEN_UNITS)
        await _install(gateway, bench.ops, GONE, 1)
        await cpu_per_request(gateway, sides["sold_out"][1], tokens, in_flight, in_flight)
        if served_heap:
            settle_after_start_up()
        for r in range(rounds + 1):
            for side, (app, path_of) in sides.items():
                path = path_of.format(open=_open(r))
                cpu_us, answers = await cpu_per_request(app, path, tokens, requests, in_flight)
                if r == 0:
                    continue
                runs[side].append(cpu_us)
                for status, n in answers.items():
                    statuses[side][status] = statuses[side].get(status, 0) + n
    driver = statistics.median(runs["driver"])
    return {
        side: {
            "cpu_us": round(statistics.median(cpu) - (0 if side == "driver" else driver), 1),
            "rounds_us": [round(c, 1) for c in cpu],
            "answers": {str(status): n for status, n in sorted(statuses[side].items())},
        }
        for side, cpu in runs.items()
    }


async def _install(app: Any, ops_token: str, campaign_id: str, units: int) -> None:
    text = spike_campaign(campaign_id, units).encode()
    headers = {"authorization": f"Bearer {ops_token}", "content-type": "text/plain"}
    status = await call(app, "PUT", f"/api/v1/ops/campaigns/{campaign_id}", text, headers)
    if status != 200:
        raise RuntimeError(f"installing {campaign_id} answered {status}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=9600, help="per side and round")
    parser.add_argument("--in-flight", type=int, default=48)
    args = parser.parse_args()
    for name in ("rounds", "requests", "in_flight"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.requests + args.in_flight > VIEWERS:
        parser.error(f"--requests: at most {VIEWERS - args.in_flight} (a viewer orders once)")
    bench = Bench(args.redis_url, 0, 0, 0, BENCH_RATE_LIMITS)
    try:
        result = uvloop.run(measure(bench, args.rounds, args.requests, args.in_flight))
    finally:
        asyncio.run(bench.clean_up())
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    orders, bare_us = result["orders"]["cpu_us"], result["bare"]["cpu_us"]
    print(f"order lane {orders} µs per order, bare endpoint {bare_us} µs per request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
