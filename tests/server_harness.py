"""Run the real app on a free port in this event loop, and talk to it over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from server.gateway.app import create_app
from server.settings import Settings
from tests.conftest import OPS_TOKEN


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

    async def stock(self, campaign_id: str = "mid-autumn") -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/campaigns/{campaign_id}/stock")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def set_clock(self, iso: str) -> None:
        response = await self.client.post("/api/v1/ops/clock", json={"set": iso}, headers=self.ops)
        assert response.status_code == 200, response.text


@contextlib.asynccontextmanager
async def run_server(settings: Settings, redis_url: str) -> AsyncIterator[LiveServer]:
    app = create_app(settings, redis_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
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
