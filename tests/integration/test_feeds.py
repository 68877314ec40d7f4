"""The websocket feeds on real servers: two gateways agree, msgpack on request, a watched
group's progress, and refusals of bad tokens, groups and campaigns."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import msgpack
import orjson
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.conftest import OPS_TOKEN
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.server_harness import LiveServer


def ws_url(s: LiveServer, path: str) -> str:
    return s.base_url.replace("http://", "ws://") + path


async def next_matching(ws: Any, wanted: Any, seconds: float = 10) -> dict[str, Any]:
    """Read frames until one satisfies `wanted` (bounded)."""
    async with asyncio.timeout(seconds):
        while True:
            raw = await ws.recv()
            message = msgpack.unpackb(raw) if isinstance(raw, bytes) else orjson.loads(raw)
            if message["type"] == "snapshot" and wanted(message):
                return dict(message)


async def test_two_gateways_show_the_same_numbers(serve: Serve) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a = await stack.enter_async_context(serve())
        b = await stack.enter_async_context(serve())
        path = f"/ws/dashboard/mid-autumn?token={await a.screen_token()}"
        on_a = await stack.enter_async_context(websockets.connect(ws_url(a, path)))
        on_b = await stack.enter_async_context(websockets.connect(ws_url(b, path)))
        first = await next_matching(on_a, lambda m: True)
        headers = await a.login("alice")
        for _ in range(2):
            await a.order(headers, mode="presale", qty=1)
        seen_a = await next_matching(on_a, lambda m: m["deposits"]["placed"] == 2)
        seen_b = await next_matching(on_b, lambda m: m["deposits"]["placed"] == 2)
        assert seen_a["seq"] == seen_b["seq"] > first["seq"]
        assert seen_a["stock"] == seen_b["stock"] and seen_b["stock"]["remaining"] == 98


async def test_live_feed_in_msgpack_with_a_watched_group(serve: Serve) -> None:
    async with serve(clock_start=GROUP_OPEN) as s:
        leader = await s.login("leader")
        opened = await s.order(leader, mode="group", qty=1, open_group=True)
        code = opened["group_code"]
        url = ws_url(s, f"/ws/live/mid-autumn?group={code}")
        async with websockets.connect(url, subprotocols=[Subprotocol("msgpack")]) as ws:
            assert ws.subprotocol == "msgpack"
            await next_matching(ws, lambda m: m["groups"].get(code, {}).get("members") == 1)
            await s.order(await s.login("friend"), mode="group", qty=1, group_code=code)
            seen = await next_matching(ws, lambda m: m["groups"][code]["members"] == 2)
            assert seen["stock"]["remaining"] == 98 and seen["phase"] == "group"
            assert "deposits" not in seen  # viewers get the public view only


async def test_a_newcomer_greeted_from_the_cache_gets_its_handshake_first(serve: Serve) -> None:
    """While one screen keeps the hub running, each newcomer is greeted at once with the
    cached frame, written straight to its transport: it must follow the 101 answer, never
    precede it (it did under uvicorn's legacy websocket implementation)."""
    async with serve() as s:
        url = ws_url(s, "/ws/live/mid-autumn")
        async with websockets.connect(url) as keeper:
            await next_matching(keeper, lambda m: True)
            for _ in range(30):
                async with websockets.connect(url) as newcomer:
                    assert (await next_matching(newcomer, lambda m: True))["type"] == "snapshot"


@pytest.mark.parametrize(
    "path",
    [
        "/ws/dashboard/mid-autumn",
        "/ws/dashboard/mid-autumn?token=wrong",
        f"/ws/dashboard/mid-autumn?token={OPS_TOKEN}",  # the master key never opens a screen
        "/ws/live/mid-autumn?group=bad-code",
        "/ws/live/nope",
        "/ws/live/mid-autumn/more",  # not a feed: left to the router, which has no such route
        "/ws/elsewhere",
    ],
)
async def test_feeds_refuse_bad_requests(serve: Serve, path: str) -> None:
    async with serve() as s:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(ws_url(s, path)) as ws:
                await ws.recv()
        assert refused.value.response.status_code == 403


async def test_a_screen_token_opens_one_campaign_only_until_revoked(serve: Serve) -> None:
    async with serve() as s:
        token = await s.screen_token()
        for refused_path in (
            f"/ws/dashboard/nope?token={token}",  # another campaign
            f"/ws/dashboard/mid-autumn?token={token[:-1]}",  # tampered
        ):
            with pytest.raises(websockets.exceptions.InvalidStatus):
                async with websockets.connect(ws_url(s, refused_path)) as ws:
                    await ws.recv()
        minted = (await s.client.get("/api/v1/ops/screen-tokens", headers=s.ops)).json()
        [record] = minted["screen_tokens"]
        assert token not in str(minted)  # the list never shows a token again
        async with websockets.connect(ws_url(s, f"/ws/dashboard/mid-autumn?token={token}")) as ws:
            await next_matching(ws, lambda m: True)
            revoked = await s.client.delete(
                f"/api/v1/ops/screen-tokens/{record['id']}", headers=s.ops
            )
            assert revoked.status_code == 200
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    while True:
                        await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(ws_url(s, f"/ws/dashboard/mid-autumn?token={token}")):
                pass


async def test_an_expired_screen_token_is_refused(serve: Serve) -> None:
    async with serve() as s:
        gateway = s.app.state.gateway
        token, _ = gateway.screen_tokens.mint("mid-autumn", 60, now=time.time() - 120)
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(ws_url(s, f"/ws/dashboard/mid-autumn?token={token}")):
                pass
