"""Ops on orders: refund a whole order, drive fulfilment, list and filter from the ledger."""

from __future__ import annotations

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.attribution import as_dict
from server.domain.campaign import Mode
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.schemas import (
    CAMPAIGN_ID_PATTERN,
    CampaignQuery,
    FulfilmentIn,
    RefundIn,
    StrictBody,
)
from server.gateway.views import order_view
from server.ledger.attribution_queries import report as attribution_report
from server.ledger.queries import OrderFilter, finance_report, list_orders
from server.ledger.reconcile import reconcile
from server.ops import orders
from server.ops.audit import AUTOMATION


async def refund_order(request: Request) -> Response:
    """Refund everything paid; units go back to the pool unless the goods have shipped."""
    gw = gateway(request)
    gw.require_ops(request)
    order_id = request.path_params["oid"]
    body = parse_json(await read_body(request), RefundIn)
    order = await orders.refund(gw, AUTOMATION, order_id, body.reason)
    return JSONResponse(order_view(order, gw.runtime.live_for_order(order_id).campaign.timezone))


async def move_fulfilment(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    order_id = request.path_params["oid"]
    body = parse_json(await read_body(request), FulfilmentIn)
    order = await orders.fulfil(gw, AUTOMATION, order_id, body.status, body.warehouse)
    return JSONResponse(order_view(order, gw.runtime.live_for_order(order_id).campaign.timezone))


class OrderQuery(StrictBody):
    campaign_id: str | None = Field(default=None, pattern=CAMPAIGN_ID_PATTERN)
    status: str | None = Field(default=None, pattern=r"^[a-z_]{1,24}$")
    mode: Mode | None = None
    user_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


async def list_ops_orders(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), OrderQuery)
    found = await list_orders(gw.ledger, OrderFilter(**query.model_dump()))
    views = []
    for order in found:
        live = gw.runtime.campaigns.get(order["campaign_id"])
        views.append(order_view(order, live.campaign.timezone if live else "UTC"))
    return JSONResponse({"orders": views, "limit": query.limit, "offset": query.offset})


async def finance(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), CampaignQuery)
    live = gw.runtime.live(query.campaign_id)
    report = await finance_report(gw.ledger, live.campaign.id)
    return JSONResponse(report)


async def attribution(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), CampaignQuery)
    live = gw.runtime.live(query.campaign_id)
    return JSONResponse(as_dict(await attribution_report(gw.ledger, live.campaign.id)))


async def reconcile_now(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), CampaignQuery)
    live = gw.runtime.live(query.campaign_id)
    report = await reconcile(gw.runtime.redis, gw.ledger, live.stock.spaces)
    return JSONResponse(
        {
            "clean": not report.problems,
            "summary": report.summary(),
            "problems": report.problems[:100],
        }
    )


routes = [
    Route("/ops/reports/finance", finance, methods=["GET"]),
    Route("/ops/reports/attribution", attribution, methods=["GET"]),
    Route("/ops/reconcile", reconcile_now, methods=["GET"]),
    Route("/ops/orders", list_ops_orders, methods=["GET"]),
    Route("/ops/orders/{oid}/refund", refund_order, methods=["POST"]),
    Route("/ops/orders/{oid}/fulfilment", move_fulfilment, methods=["POST"]),
]
