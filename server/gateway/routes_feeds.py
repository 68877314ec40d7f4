"""Websocket feeds: /ws/dashboard/{cid} (ops token) and /ws/live/{cid} (public).

JSON text frames by default; a client that asks for the `msgpack` subprotocol gets binary
msgpack frames. The hub writes frames straight to the connection's transport (see
server/feeds/wire.py); the connection's own task only reads, to notice the client leaving.
"""

from __future__ import annotations

import hmac
import re

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from server.errors import NotFound
from server.feeds.wire import Connection
from server.gateway.context import gateway
from server.gateway.schemas import GROUP_CODE_PATTERN

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
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
    connection = Connection.of(websocket.scope)
    if connection is None:  # served by something other than `liveroom serve`'s uvicorn
        await websocket.close(code=INTERNAL_ERROR, reason="feeds need a transport to write to")
        return
    binary = "msgpack" in websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol="msgpack" if binary else None)
    async with hub.subscribe(kind, binary, connection, group):
        # Clients have nothing to say; reading is how a departure (or a drop) is noticed.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass


routes = [
    WebSocketRoute("/ws/dashboard/{cid}", dashboard_feed),
    WebSocketRoute("/ws/live/{cid}", live_feed),
]
