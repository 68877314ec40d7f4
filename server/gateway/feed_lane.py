"""Websocket feeds: /ws/dashboard/{cid} (ops token) and /ws/live/{cid} (public).

JSON text frames by default; a client that asks for the `msgpack` subprotocol gets binary
msgpack frames. The hub writes frames straight to the connection's transport (see
server/feeds/wire.py); the connection's own task only reads, to notice the client leaving.

Served by FeedLane, a middleware in front of Starlette's router: a feed connection stays
open for the whole broadcast, and every layer it passes through (the router, the route,
the exception middleware's wrappers) keeps its frames alive for as long, about 4 KiB per
idle connection at 10,000 viewers (docs/performance.md). In front of the exception
middleware, `send` is still uvicorn's own, the handle on the connection's transport.
"""

from __future__ import annotations

import hmac
import re

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from server.errors import NotFound
from server.feeds.wire import Connection
from server.gateway.context import gateway
from server.gateway.schemas import GROUP_CODE_PATTERN

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
_GROUP_CODE_RE = re.compile(GROUP_CODE_PATTERN)
_FEED_PATH = re.compile(r"/ws/(dashboard|live)/([^/]+)")  # as a route's "{cid}" matches


class FeedLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        feed = _FEED_PATH.fullmatch(scope["path"]) if scope["type"] == "websocket" else None
        if feed is None:
            await self.app(scope, receive, send)
            return
        kind, campaign_id = feed.groups()
        websocket = WebSocket(scope, receive, send)
        serve = dashboard_feed if kind == "dashboard" else live_feed
        await serve(websocket, campaign_id, Connection.of(send))


async def dashboard_feed(
    websocket: WebSocket, campaign_id: str, connection: Connection | None
) -> None:
    gw = gateway(websocket)
    token = websocket.query_params.get("token", "")
    if not hmac.compare_digest(token.encode(), gw.settings.ops_token.encode()):
        await websocket.close(code=POLICY_VIOLATION, reason="token: not an ops token")
        return
    await _serve(websocket, campaign_id, connection, "dashboard", None)


async def live_feed(websocket: WebSocket, campaign_id: str, connection: Connection | None) -> None:
    group = websocket.query_params.get("group")
    if group is not None and not _GROUP_CODE_RE.match(group):
        await websocket.close(code=POLICY_VIOLATION, reason="group: not a group code")
        return
    await _serve(websocket, campaign_id, connection, "live", group)


async def _serve(
    websocket: WebSocket,
    campaign_id: str,
    connection: Connection | None,
    kind: str,
    group: str | None,
) -> None:
    gw = gateway(websocket)
    try:
        hub = gw.hubs.for_campaign(campaign_id)
    except NotFound:
        await websocket.close(code=POLICY_VIOLATION, reason="campaign_id: no such campaign")
        return
    if connection is None:  # served by something other than `liveroom serve`'s uvicorn
        await websocket.close(code=INTERNAL_ERROR, reason="feeds need a transport to write to")
        return
    binary = "msgpack" in websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol="msgpack" if binary else None)
    async with hub.subscribe(kind, binary, connection, group):
        # Clients have nothing to say; reading is how a departure (or a drop) is noticed.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
