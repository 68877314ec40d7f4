"""Ops on fulfilment through the API: the warehouses, a pick list (CSV), a route override."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.console.csv_export import pick_list_csv
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.schemas import CampaignQuery, RouteIn
from server.gateway.views import order_view
from server.ops import fulfilment
from server.ops.audit import AUTOMATION


async def warehouses(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), CampaignQuery)
    return JSONResponse(await fulfilment.warehouses(gw, query.campaign_id))


async def pick_list(request: Request) -> Response:
    """The warehouse's allocated orders with whole addresses (the ops token may see them)."""
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), CampaignQuery)
    code = request.path_params["code"]
    lines = await fulfilment.pick_lines(gw, query.campaign_id, code, whole=True)
    zone = ZoneInfo(gw.runtime.live(query.campaign_id).campaign.timezone)
    return pick_list_csv(f"pick-list-{code}", lines, zone)


async def override_route(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    order_id = request.path_params["oid"]
    body = parse_json(await read_body(request), RouteIn)
    route = [(part.warehouse, part.units) for part in body.route]
    order = await fulfilment.override_route(gw, AUTOMATION, order_id, route)
    return JSONResponse(order_view(order, gw.runtime.live_for_order(order_id).campaign.timezone))


routes = [
    Route("/ops/warehouses", warehouses, methods=["GET"]),
    Route("/ops/warehouses/{code}/pick-list", pick_list, methods=["GET"]),
    Route("/ops/orders/{oid}/route", override_route, methods=["POST"]),
]
