"""Websocket feeds: /ws/dashboard/{cid} (a screen token) and /ws/live/{cid} (public).

JSON text frames by default; a client that asks for the `msgpack` subprotocol gets binary
msgpack frames. The hub writes frames straight to the connection's transport (see
server/feeds/wire.py); the connection's own task only reads, to notice the client leaving.

Served before Starlette's middleware stack and router (server/gateway/lanes.py): a feed
connection stays open for the whole broadcast, and every layer it passes through (the
middleware, the router, the route, the exception wrappers) keeps its frames alive for as
long, about 6 KiB per idle connection (docs/performance.md). There, `send` is still
uvicorn's own, the handle on the connection's transport.
"""

from __future__ import annotations

import re

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from server.errors import NotFound, Unauthorized
from server.feeds.hub import CampaignHub
from server.feeds.wire import Connection, forget_handshake
from server.gateway.context import gateway
from server.gateway.schemas import GROUP_CODE_PATTERN
from server.gateway.screen_tokens import ScreenGrant
from server.store.connection import REDIS_OUTAGES

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
_GROUP_CODE_RE = re.compile(GROUP_CODE_PATTERN)
_FEED_PATH = re.compile(r"/ws/(dashboard|live)/([^/]+)")  # as a route's "{cid}" matches


def feed_of(scope: Scope) -> tuple[str, str] | None:
    """(kind, campaign id) of a feed connection, else None."""
    feed = _FEED_PATH.fullmatch(scope["path"]) if scope["type"] == "websocket" else None
    return None if feed is None else (feed[1], feed[2])


async def serve_feed(
    scope: Scope, receive: Receive, send: Send, kind: str, campaign_id: str
) -> None:
    # One flat coroutine: every frame it awaits through stays alive as long as the feed.
    websocket = WebSocket(scope, receive, send)
    try:
        hub, group, grant = await _admit(websocket, kind, campaign_id)
    except _Refused as refused:
        await websocket.close(code=refused.code, reason=refused.reason)
        return
    connection = Connection.of(send)
    if connection is None:  # served by something other than `liveroom serve`'s uvicorn
        await websocket.close(code=INTERNAL_ERROR, reason="feeds need a transport to write to")
        return
    binary = "msgpack" in scope.get("subprotocols", [])
    await websocket.accept(subprotocol="msgpack" if binary else None)
    subscriber = await hub.join(kind, binary, connection, group, grant)
    # Held all broadcast, one per viewer: let go of what only the admission read (the
    # request's headers, kept by uvicorn's protocol through this scope and by the handshake,
    # the scope's other request facts, the request object): 21.4 -> 17.5 KiB per idle feed
    # at 2,000, 15.2 at 19,000 (docs/performance.md).
    scope["headers"] = []
    for name in ("state", "extensions", "asgi", "subprotocols"):  # (uvicorn logs by path)
        scope.pop(name, None)
    forget_handshake(send)
    del websocket, grant
    try:
        # Clients have nothing to say; reading is how a departure (or a drop) is noticed.
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        hub.leave(subscriber)


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


async def _admit(
    websocket: WebSocket, kind: str, campaign_id: str
) -> tuple[CampaignHub, str | None, ScreenGrant | None]:
    """The feed's hub, group filter and screen grant, checked in the order the refusals
    are reported. The dashboard feed takes a screen token (never the ops token: a big
    screen's URL ends up in browser histories and photos)."""
    gw = gateway(websocket)
    group, grant = None, None
    if kind == "dashboard":
        try:
            grant = gw.screen_tokens.grant(websocket.query_params.get("token", ""))
        except Unauthorized as refused:
            raise _Refused(POLICY_VIOLATION, f"token: {refused.message}") from None
        if grant.campaign_id != campaign_id:
            raise _Refused(POLICY_VIOLATION, "token: a screen token of another campaign")
        try:
            revoked = await gw.screens.revoked([grant.id])
        except REDIS_OUTAGES:
            raise _Refused(TRY_AGAIN_LATER, "the stock service is unavailable; retry") from None
        if revoked:
            raise _Refused(POLICY_VIOLATION, "token: this screen token was revoked")
    else:
        group = websocket.query_params.get("group")
        if group is not None and not _GROUP_CODE_RE.fullmatch(group):
            raise _Refused(POLICY_VIOLATION, "group: not a group code")
    try:
        return gw.hubs.for_campaign(campaign_id), group, grant
    except NotFound:
        raise _Refused(POLICY_VIOLATION, "campaign_id: no such campaign") from None
