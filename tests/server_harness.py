"""Run the real app on a free port in this event loop, and talk to it over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import uvicorn
from aiohttp import web

from server.cli import uvicorn_options
from server.gateway.app import create_app
from server.gateway.protocol import guarded_protocol
from server.ledger.consumer import GROUP
from server.ledger.reconcile import Report, reconcile
from server.payments.sandbox import signed_notice
from server.settings import Settings
from server.store.keys import IdentityKeys, OpsKeys
from server.store.stock import text
from tests.conftest import OPS_TOKEN, PAYMENT_SECRET, TIME_FACTOR


@dataclass
class LiveServer:
    base_url: str
    client: httpx.AsyncClient
    app: Any

    async def login(self, user_id: str) -> dict[str, str]:
        response = await self.client.post("/api/v1/sessions", json={"user_id": user_id})
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    @property
    def ops(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {OPS_TOKEN}"}

    async def screen_token(self, campaign_id: str = "mid-autumn", ttl_s: int = 3600) -> str:
        """A big screen's token for one campaign's dashboard feed, minted by ops."""
        r = await self.client.post(
            "/api/v1/ops/screen-tokens",
            json={"campaign_id": campaign_id, "ttl_s": ttl_s},
            headers=self.ops,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    async def stock(self, campaign_id: str = "mid-autumn") -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/campaigns/{campaign_id}/stock")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def community(self, name: str = "楼下团") -> str:
        """A community share link's code (orders through it earn no commission)."""
        r = await self.client.post("/api/v1/ops/communities", json={"name": name}, headers=self.ops)
        assert r.status_code == 201, r.text
        return str(r.json()["code"])

    async def become_distributor(self, headers: dict[str, str], upline: str | None = None) -> str:
        body = {} if upline is None else {"upline": upline}
        r = await self.client.post("/api/v1/distributors", json=body, headers=headers)
        assert r.status_code in (200, 201), r.text
        return str(r.json()["code"])

    async def set_clock(self, iso: str) -> None:
        response = await self.client.post("/api/v1/ops/clock", json={"set": iso}, headers=self.ops)
        assert response.status_code == 200, response.text

    async def advance(self, seconds: float, speed: float | None = None) -> None:
        """Campaign time moves on by `seconds`, then runs `speed` times real if given."""
        body = {"advance_s": seconds} | ({"speed": speed} if speed is not None else {})
        r = await self.client.post("/api/v1/ops/clock", json=body, headers=self.ops)
        assert r.status_code == 200, r.text

    async def order(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        r = await self.client.post(
            "/api/v1/campaigns/mid-autumn/orders", json=body, headers=headers
        )
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def open_payment(
        self, headers: dict[str, str], order_id: str, provider: str | None = None
    ) -> dict[str, Any]:
        """The next stage (with that provider, else the deployment's default); a balance
        first gets the order an address if it has none."""
        url = f"/api/v1/orders/{order_id}/payments"
        body = {"provider": provider} if provider else None
        r = await self.client.post(url, json=body, headers=headers)
        if r.status_code == 409 and r.json()["error"] == "address_needed":
            address = {"address_id": await self.address(headers)}
            put = await self.client.put(
                f"/api/v1/orders/{order_id}/address", json=address, headers=headers
            )
            assert put.status_code == 200, put.text
            r = await self.client.post(url, json=body, headers=headers)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        assert provider is None or result["provider"] == provider
        return result

    async def notify(self, payment: dict[str, Any], status: str = "succeeded") -> httpx.Response:
        """Play the payment provider: a signed notice for this payment."""
        body, headers = signed_notice(
            PAYMENT_SECRET, payment["payment_id"], payment["amount_fen"], status
        )
        return await self.client.post("/api/v1/payments/webhook", content=body, headers=headers)

    async def pay(self, headers: dict[str, str], order_id: str) -> dict[str, Any]:
        """Open the next stage and have the provider confirm it."""
        payment = await self.open_payment(headers, order_id)
        r = await self.notify(payment)
        assert r.status_code == 200 and r.json()["result"] == "succeeded", r.text
        return payment

    async def my_orders(self, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
        r = await self.client.get("/api/v1/me/orders", headers=headers)
        assert r.status_code == 200, r.text
        return {o["order_id"]: o for o in r.json()["orders"]}

    async def wait_for_status(
        self, headers: dict[str, str], order_id: str, status: str
    ) -> dict[str, Any]:
        """Deadlines fire in the worker's sweep: wait (bounded) until the order shows it."""

        async def current() -> dict[str, Any]:
            return (await self.my_orders(headers))[order_id]

        return await eventually(current, lambda order: order["status"] == status)

    async def address(self, headers: dict[str, str], **fields: str) -> str:
        """Add an address to the viewer's book (a Shanghai one unless told); its id."""
        body = {
            "recipient": "张三",
            "phone": "13812345678",
            "province": "310000",
            "district": "310104",
            "street": "漕溪北路 88 号",
            **fields,
        }
        r = await self.client.post("/api/v1/me/addresses", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def ship_to(
        self, headers: dict[str, str], order_id: str, address_id: str | None = None
    ) -> dict[str, Any]:
        """Choose the order's address (a new one unless given); once paid, the worker's
        router gives it a warehouse: wait for that."""
        address_id = address_id or await self.address(headers)
        url = f"/api/v1/orders/{order_id}/address"
        r = await self.client.put(url, json={"address_id": address_id}, headers=headers)
        assert r.status_code == 200, r.text
        return await self.wait_for_status(headers, order_id, "allocated")

    async def deliver(self, headers: dict[str, str], order_id: str) -> None:
        """Route a paid order, then ship and deliver it (ops' fulfilment steps)."""
        await self.ship_to(headers, order_id)
        for status in ("shipped", "delivered"):
            r = await self.client.post(
                f"/api/v1/ops/orders/{order_id}/fulfilment",
                json={"status": status},
                headers=self.ops,
            )
            assert r.status_code == 200, r.text

    async def group(self, code: str) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/groups/{code}")
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def ledger_caught_up(self, campaign_id: str = "mid-autumn") -> None:
        """Wait (bounded) until the worker has consumed every entry of the campaign's
        stream, the user pool's and the ops audit's."""
        gateway = self.app.state.gateway
        prefix = gateway.settings.key_prefix
        keys = gateway.runtime.live(campaign_id).stock.spaces
        others = [IdentityKeys(prefix).stream, OpsKeys(prefix).audit]
        deadline = asyncio.get_running_loop().time() + 10 * TIME_FACTOR
        while asyncio.get_running_loop().time() < deadline:
            report = await reconcile(gateway.runtime.redis, gateway.ledger, keys)
            behind = [await self._behind(stream) for stream in others]
            if report.unconsumed == 0 and not any(behind):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the ledger did not catch up")

    async def _behind(self, stream: str) -> int:
        """Entries of the stream the ledger's consumer group has not yet acknowledged."""
        redis = self.app.state.gateway.runtime.redis
        if not await redis.exists(stream):
            return 0
        groups = {text(g["name"]): g for g in await redis.xinfo_groups(stream)}
        if GROUP not in groups:
            return int(await redis.xlen(stream))  # the worker has not read it yet
        return int(groups[GROUP].get("lag") or 0) + int(groups[GROUP].get("pending") or 0)

    async def reconcile(self, campaign_id: str = "mid-autumn") -> Report:
        await self.ledger_caught_up(campaign_id)
        gateway = self.app.state.gateway
        spaces = gateway.runtime.live(campaign_id).stock.spaces
        return await reconcile(gateway.runtime.redis, gateway.ledger, spaces)


Value = TypeVar("Value")


async def eventually(
    read: Callable[[], Awaitable[Value]], done: Callable[[Value], bool], seconds: float = 10
) -> Value:
    """Read until done(value) holds, for at most `seconds` (scaled by the time factor)."""
    deadline = asyncio.get_running_loop().time() + seconds * TIME_FACTOR
    while True:
        value = await read()
        if done(value):
            return value
        assert asyncio.get_running_loop().time() < deadline, f"never reached: {value!r}"
        await asyncio.sleep(0.05)


def free_port() -> int:
    """A loopback port nobody listens on now, for a server a test starts as a process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def run_server(
    settings: Settings, redis_url: str, order_lane: bool = True
) -> AsyncIterator[LiveServer]:
    """order_lane=False: the app with its order requests left to the router (to compare)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if settings.notify_sandbox and not settings.notify_url:  # as the demo: it plays the receiver
        notify_url = f"http://127.0.0.1:{port}/api/v1/sandbox/notify"
        settings = dataclasses.replace(settings, notify_url=notify_url)
    app = create_app(settings, redis_url)
    app.order_lane = order_lane
    served_as = {k: v for k, v in uvicorn_options(settings).items() if k != "loop"}
    served_as["http"] = guarded_protocol(settings.edge)  # as `liveroom serve`, this test's limits
    config = uvicorn.Config(app, lifespan="on", **served_as)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            sock.close()  # a start that failed (Redis down, say) leaves no socket behind
            task.result()
        await asyncio.sleep(0.01)
    base_url = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    try:
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
            yield LiveServer(base_url, client, app)
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def receiving(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """A small HTTP server on a free loopback port taking POSTs to /notify (the far end of a
    webhook a test sends out); its URL."""
    app = web.Application()
    app.router.add_post("/notify", handler)
    async with serving(app) as base:
        yield f"{base}/notify"


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """An aiohttp app on a free loopback port (a webhook's far end, a provider's stand-in);
    its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
