"""The sold-out lane: order requests checked before routing, known refusals answered there.

After 开抢 most order requests are refused sold out. Such a refusal needs no Redis (the
process keeps each pool's remaining units from the scripts' stock messages) and no router,
so this ASGI middleware runs the order route's own checks (`order_intake.take_in`) on
POST /api/v1/campaigns/{cid}/orders and answers a known sold-out order itself. Every other
request goes on to the app unchanged: its body is replayed, and a request that passed the
checks carries its intake in the scope so the route does not check it twice. A request the
checks refuse goes on unchecked: the route finds the same problem and reports it.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import LiveroomError
from server.gateway.context import Gateway
from server.gateway.order_intake import INTAKE_SCOPE_KEY, sold_out, take_in

_PREFIX = "/api/v1/campaigns/"
_SUFFIX = "/orders"


def order_campaign(scope: Scope) -> str | None:
    """The campaign id of an order POST (the route's `{cid}`: no slash), else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    campaign_id = path[len(_PREFIX) : -len(_SUFFIX)]
    return campaign_id if campaign_id and "/" not in campaign_id else None


class SoldOutLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        campaign_id = order_campaign(scope)
        if campaign_id is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client left before sending its order
            return
        gw = scope["app"].state.gateway
        assert isinstance(gw, Gateway)
        try:
            intake = take_in(gw, Headers(scope=scope), campaign_id, body)
        except LiveroomError:
            await self.app(scope, _replay(body, receive), send)
            return
        if intake.known_sold_out():
            await sold_out()(scope, receive, send)
            return
        await self.app({**scope, INTAKE_SCOPE_KEY: intake}, _replay(body, receive), send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once more as one message, then whatever the client sends next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
