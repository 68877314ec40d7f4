"""The order lane: POST /api/v1/campaigns/{cid}/orders served before the middleware stack
and the router (server/gateway/lanes.py).

The 开抢 spike is nearly all order requests, and after the stock is gone nearly all of them
are refused sold out without Redis (each process keeps the pools' remaining units from the
scripts' stock messages). Routing them through Starlette's middleware, router, exception
wrappers and request objects cost a bare endpoint's worth of CPU again, so the lane takes
them first: the same checks (`order_intake.take_in`), the same order placing
(`routes_orders.place_order`) and the same error answers (the app's exception handlers)
as the route.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from server.errors import Conflict
from server.gateway.bodies import MAX_BODY_BYTES, ClientLeft, read_limited
from server.gateway.context import Gateway
from server.gateway.http import answer_error
from server.gateway.order_intake import send_sold_out, take_in
from server.gateway.request_metrics import ORDER_ENDPOINT, observe
from server.gateway.routes_orders import place_order
from server.telemetry import CLIENTS_LEFT_MID_BODY, SOLD_OUT_BY_FLAG

log = logging.getLogger("liveroom.gateway")

_PREFIX = "/api/v1/campaigns/"
_SUFFIX = "/orders"


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def order_campaign(scope: Scope) -> str | None:
    """The campaign id of an order POST (the route's `{cid}`: no slash), else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    campaign_id = path[len(_PREFIX) : -len(_SUFFIX)]
    return campaign_id if campaign_id and "/" not in campaign_id else None


async def serve_order(
    gw: Gateway, scope: Scope, receive: Receive, send: Send, campaign_id: str
) -> None:
    started = time.perf_counter()
    headers = Headers(scope=scope)
    response: Response | None  # None: known sold out (most of the spike, once it is)
    try:
        body = await read_limited(receive, headers, gw.bodies, MAX_BODY_BYTES)
        intake = take_in(gw, headers, client_address(scope), campaign_id, body)
        response = None if intake.known_sold_out() else await place_order(gw, intake)
    except ClientLeft:  # the client left before sending its order: nobody to answer
        log.debug("client left mid-body on an order")
        CLIENTS_LEFT_MID_BODY.inc()
        return
    except Exception as exc:
        response = await answer_error(Request(scope, receive), exc)
    if response is None:
        SOLD_OUT_BY_FLAG.inc()
        await send_sold_out(send)
    else:
        await response(scope, receive, send)
    if gw.settings.request_metrics:  # timed here: no middleware layer on the spike's path
        status = Conflict.status if response is None else response.status_code
        observe(ORDER_ENDPOINT, "POST", status, time.perf_counter() - started)
