"""Websocket feeds: /ws/dashboard/{cid} (ops token) and /ws/live/{cid} (public).

JSON text frames by default; a client that asks for the `msgpack` subprotocol gets binary
msgpack frames. Each connection has a writer (latest snapshot from the hub) and a reader
(notices the client leaving); whichever ends first ends both.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import re

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.errors import NotFound
from server.feeds.hub import Subscriber
from server.gateway.context import gateway
from server.gateway.schemas import GROUP_CODE_PATTERN

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
_GROUP_CODE_RE = re.compile(GROUP_CODE_PATTERN)


async def dashboard_feed(websocket: WebSocket) -> None:
    gw = gateway(websocket)
    token = websocket.query_params.get("token", "")
    if not hmac.compare_digest(token.encode(), gw.settings.ops_token.encode()):
        await websocket.close(code=POLICY_VIOLATION, reason="token: not an ops token")
        return
    await _serve(websocket, "dashboard", None)


async def live_feed(websocket: WebSocket) -> None:
    group = websocket.query_params.get("group")
    if group is not None and not _GROUP_CODE_RE.match(group):
        await websocket.close(code=POLICY_VIOLATION, reason="group: not a group code")
        return
    await _serve(websocket, "live", group)


async def _serve(websocket: WebSocket, kind: str, group: str | None) -> None:
    gw = gateway(websocket)
    try:
        hub = gw.hubs.for_campaign(websocket.path_params["cid"])
    except NotFound:
        await websocket.close(code=POLICY_VIOLATION, reason="campaign_id: no such campaign")
        return
    binary = "msgpack" in websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol="msgpack" if binary else None)
    async with hub.subscribe(kind, binary, group) as subscriber:
        writer = asyncio.create_task(_write(websocket, subscriber))
        reader = asyncio.create_task(_read(websocket))
        done, pending = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in (*done, *pending):
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task


async def _write(websocket: WebSocket, subscriber: Subscriber) -> None:
    while (frames := await subscriber.latest.get()) is not None:
        if subscriber.binary:
            await websocket.send_bytes(frames.msgpack)
        else:
            await websocket.send_text(frames.json)
    await websocket.close(code=TRY_AGAIN_LATER, reason="too far behind; reconnect")


async def _read(websocket: WebSocket) -> None:
    """Clients have nothing to say; reading is how a departure is noticed."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


routes = [
    WebSocketRoute("/ws/dashboard/{cid}", dashboard_feed),
    WebSocketRoute("/ws/live/{cid}", live_feed),
]
