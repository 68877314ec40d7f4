"""What the load tools share: a thin API client that can play the payment provider, and
their command-line options."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil

from server import demo_secrets
from server.payments.sandbox import signed_notice

Json = dict[str, Any]


def secret_defaults() -> dict[str, str]:
    """The secrets to talk to a server with: the environment's, else those of the demo
    running on LIVEROOM_DATA_DIR (default var/demo)."""
    demo = demo_secrets.load(Path(os.environ.get("LIVEROOM_DATA_DIR") or "var/demo")) or {}
    return {name: os.environ.get(name) or demo.get(name, "") for name in demo_secrets.NAMES}


def api_parser(doc: str | None) -> argparse.ArgumentParser:
    """--base, --ops-token and --payment-secret (defaults: secret_defaults())."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    defaults = secret_defaults()
    parser.add_argument("--ops-token", default=defaults["LIVEROOM_OPS_TOKEN"])
    parser.add_argument("--payment-secret", default=defaults["LIVEROOM_PAYMENT_SECRET"])
    return parser


async def snapshots(
    ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event
) -> AsyncIterator[tuple[float, Json]]:
    """Each live-feed snapshot with its arrival (perf_counter), until stop is set or the
    feed closes."""
    closed = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    while not stop.is_set():
        try:
            message = await ws.receive(timeout=0.5)
        except TimeoutError:
            continue
        if message.type in closed:
            return
        if message.type != aiohttp.WSMsgType.TEXT:
            continue
        arrival = time.perf_counter()
        body = orjson.loads(message.data)
        if body["type"] == "snapshot":
            yield arrival, body


def process_cpu_s(process: psutil.Process) -> float:
    """CPU seconds a process has used so far (user + system)."""
    times = process.cpu_times()
    return float(times.user + times.system)


class Client:
    def __init__(self, session: aiohttp.ClientSession, ops_token: str, payment_secret: str) -> None:
        self.session = session
        self.ops = {"Authorization": f"Bearer {ops_token}"}
        self.payment_secret = payment_secret

    async def call(self, method: str, url: str, **kwargs: Any) -> tuple[int, Json]:
        async with self.session.request(method, url, **kwargs) as r:
            return r.status, await r.json()

    async def login(self, user: str) -> dict[str, str]:
        status, body = await self.call("POST", "/api/v1/sessions", json={"user_id": user})
        assert status == 201, body
        return {"Authorization": f"Bearer {body['token']}"}

    async def order(self, headers: dict[str, str], body: Json) -> Json | None:
        status, answer = await self.call(
            "POST", "/api/v1/campaigns/mid-autumn/orders", json=body, headers=headers
        )
        return answer if status == 201 else None

    async def open_payment(self, headers: dict[str, str], order_id: str) -> Json | None:
        status, answer = await self.call(
            "POST", f"/api/v1/orders/{order_id}/payments", headers=headers
        )
        return answer if status == 201 else None

    async def notify(self, payment: Json) -> str:
        body, headers = signed_notice(
            self.payment_secret, payment["payment_id"], payment["amount_fen"]
        )
        status, answer = await self.call(
            "POST", "/api/v1/payments/webhook", data=body, headers=headers
        )
        assert status == 200, answer
        return str(answer["result"])

    async def advance(self, seconds: int) -> str:
        status, answer = await self.call(
            "POST", "/api/v1/ops/clock", json={"advance_s": seconds}, headers=self.ops
        )
        assert status == 200, answer
        return str(answer["now"])
