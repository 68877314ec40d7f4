"""The edge against hostile clients: bodies limited while they stream, deadlines for slow
headers and bodies, a cap on connections, a keep-alive that outlasts the 开抢 wait, and a
client leaving mid-body answered without a traceback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from starlette.routing import Mount, Route

from server.settings import EdgeLimits
from server.telemetry import BODIES_TOO_LARGE, CLIENTS_LEFT_MID_BODY
from tests.conftest import OPS_TOKEN
from tests.integration.conftest import Serve
from tests.rawhttp import Answer, closed_by_server, connection, head, read_answer
from tests.server_harness import LiveServer

pytestmark = pytest.mark.redis

GIB = 1 << 30


async def _body_routes(s: LiveServer) -> list[tuple[str, str, dict[str, str]]]:
    """Every route that takes a body, with real ids in its path and the right credentials."""
    alice = await s.login("alice")
    order = await s.order(alice, mode="presale", qty=1)
    payment = await s.open_payment(alice, order["order_id"])
    code = await s.become_distributor(alice)
    ids = {
        "{cid}": "mid-autumn",
        "{oid}": order["order_id"],
        "{pid}": payment["payment_id"],
        "{code}": code,
        "{uid}": "bob",
    }
    found = []
    for prefix, route in _routes(s.app.routes):
        path = prefix + route.path
        for template, value in ids.items():
            path = path.replace(template, value)
        auth = {"Authorization": f"Bearer {OPS_TOKEN}"} if "/ops/" in path else alice
        for method in sorted((route.methods or set()) & {"POST", "PUT", "PATCH"}):
            found.append((method, path, auth))
    assert len(found) >= 15, found
    return found


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, Route]]:
    found: list[tuple[str, Route]] = []
    for route in routes:
        if isinstance(route, Mount):
            found += _routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            found.append((prefix, route))
    return found


async def test_a_declared_large_body_is_refused_before_it_is_read(serve: Serve) -> None:
    async with serve() as s:
        for method, path, auth in await _body_routes(s):
            async with connection(s.base_url) as (reader, writer):
                declared = {**auth, "Content-Type": "application/json", "Content-Length": str(GIB)}
                writer.write(head(method, path, declared))
                await writer.drain()
                answer = await read_answer(reader, timeout=5)  # no byte of the body was sent
                assert answer.status == 413, (method, path, answer)
                assert answer.json()["error"] == "too_large", (method, path)
                assert answer.headers.get("connection") == "close", (method, path)


async def test_a_chunked_body_is_cut_off_at_the_limit(serve: Serve) -> None:
    """A body that never says its length is counted as it arrives: refused once it passes
    64 KiB, long before the client stops sending, and nothing changes. (The server closes
    the connection with the client's bytes unread, so the 413 may reach the client or be
    overtaken by the reset; the server's count of refusals says which it was.)"""
    async with serve() as s:
        alice = await s.login("alice")
        before = await s.stock()
        for path, auth in (
            ("/api/v1/campaigns/mid-autumn/orders", alice),
            ("/api/v1/payments/webhook", {}),
            ("/api/v1/sessions", {}),
        ):
            refused_before = BODIES_TOO_LARGE._value.get()
            sent, answer = await _stream_until_answered(s.base_url, path, auth)
            assert answer is None or answer.status == 413, (path, answer)
            assert answer is None or answer.json()["error"] == "too_large", path
            assert BODIES_TOO_LARGE._value.get() == refused_before + 1, path
            assert sent < 8 * 1024 * 1024, f"{path}: the server read {sent} bytes first"
        assert await s.stock() == before


async def _stream_until_answered(
    base_url: str, path: str, auth: dict[str, str]
) -> tuple[int, Answer | None]:
    """Send 16 KiB chunks until the server answers or hangs up: (bytes sent, its answer)."""
    async with connection(base_url) as (reader, writer):
        writer.write(head("POST", path, {**auth, "Transfer-Encoding": "chunked"}))
        chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
        answered = asyncio.create_task(read_answer(reader, timeout=10))
        sent = 0
        while not answered.done() and sent < 64 * 1024 * 1024:
            try:
                writer.write(chunk)
                await writer.drain()
            except ConnectionError:
                break
            sent += 0x4000
            await asyncio.sleep(0.001)
        try:
            return sent, await answered
        except ConnectionError:
            return sent, None


async def test_slow_headers_and_slow_bodies_are_cut_off(serve: Serve) -> None:
    edge = EdgeLimits(header_timeout_s=0.5, body_timeout_s=0.5)
    async with serve(edge=edge) as s:
        async with connection(s.base_url) as (reader, writer):
            writer.write(b"POST /api/v1/sessions HTTP/1.1\r\nHo")  # and then nothing more
            await writer.drain()
            assert await closed_by_server(reader, within=3)
        async with connection(s.base_url) as (reader, writer):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")  # a kept-alive
            assert (await read_answer(reader)).status == 200  # connection then stalls
            writer.write(b"GET /healthz HTTP/1.1\r\n")
            assert await closed_by_server(reader, within=3)
        async with connection(s.base_url) as (reader, writer):
            writer.write(head("POST", "/api/v1/sessions", {"Content-Length": "100"}) + b"{")
            await writer.drain()
            assert await closed_by_server(reader, within=3)
        assert (await s.client.get("/healthz")).status_code == 200


async def test_past_the_connection_cap_a_clear_503(serve: Serve) -> None:
    async with serve(edge=EdgeLimits(max_connections=4)) as s:
        port = int(s.base_url.rsplit(":", 1)[1])
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        try:
            async with connection(s.base_url) as (reader, writer):
                writer.write(head("GET", "/healthz", {}))
                answer = await read_answer(reader)
                assert answer.status == 503 and answer.json()["error"] == "busy"
                assert answer.headers["retry-after"] == "1"
            async with connection(s.base_url) as (reader, writer):
                upgrade = {
                    "Connection": "Upgrade",
                    "Upgrade": "websocket",
                    "Sec-WebSocket-Version": "13",
                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                }
                writer.write(head("GET", "/ws/live/mid-autumn", upgrade))
                assert (await read_answer(reader)).status == 503
        finally:
            for _, writer in held:
                writer.close()
        await asyncio.sleep(0.2)  # the server hears them go
        async with connection(s.base_url) as (reader, writer):  # room again
            writer.write(head("GET", "/healthz", {}))
            assert (await read_answer(reader)).status == 200


async def test_an_idle_connection_outlives_uvicorns_five_seconds(serve: Serve) -> None:
    """The crowd waiting for 开抢 reuses its connections: one idle for 6 s still serves."""
    async with serve() as s:
        async with connection(s.base_url) as (reader, writer):
            writer.write(head("GET", "/healthz", {}))
            assert (await read_answer(reader)).status == 200
            await asyncio.sleep(6)
            writer.write(head("GET", "/healthz", {}))
            assert (await read_answer(reader)).status == 200


async def test_a_client_leaving_mid_body_is_one_quiet_line(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve() as s:
        alice = await s.login("alice")
        left_before = CLIENTS_LEFT_MID_BODY._value.get()
        with caplog.at_level(logging.DEBUG):
            for path, auth in (
                ("/api/v1/campaigns/mid-autumn/orders", alice),
                ("/api/v1/sessions", {}),
            ):
                async with connection(s.base_url) as (_, writer):
                    writer.write(head("POST", path, {**auth, "Content-Length": "100"}) + b'{"mo')
                    await writer.drain()
                    await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)
        assert CLIENTS_LEFT_MID_BODY._value.get() - left_before == 2
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        assert (await s.client.get("/healthz")).status_code == 200
