"""The campaign as configured, its stock, and the ops upload of a campaign file."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import BadInput
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, read_body
from server.gateway.views import campaign_view, stock_view
from server.ops import campaigns
from server.ops.audit import AUTOMATION

MAX_CAMPAIGN_BYTES = 256 * 1024


async def get_campaign(request: Request) -> Response:
    gw = gateway(request)
    live = gw.runtime.live(request.path_params["cid"])
    return JSONResponse(campaign_view(live.campaign, live.version, gw.runtime.clock.now()))


async def get_stock(request: Request) -> Response:
    live = gateway(request).runtime.live(request.path_params["cid"])
    counters = await live.stock.pools()
    returned = await live.stock.returned_pools()
    return JSONResponse(stock_view(live.campaign, counters, returned))


async def put_campaign(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    raw = await read_body(request, MAX_CAMPAIGN_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("the campaign file must be UTF-8 TOML", None) from None
    live = await campaigns.publish(gw, AUTOMATION, text, request.path_params["cid"])
    return JSONResponse(campaign_view(live.campaign, live.version, gw.runtime.clock.now()))


routes = [
    Route("/campaigns/{cid}", get_campaign, methods=["GET"]),
    Route("/campaigns/{cid}/stock", get_stock, methods=["GET"]),
    Route("/ops/campaigns/{cid}", put_campaign, methods=["PUT"]),
]
