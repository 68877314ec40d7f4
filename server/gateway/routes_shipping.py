"""Shipping through the API: the carriers, a warehouse's tracking upload (CSV), and the
logistics provider's signed events."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.clock import to_ms
from server.domain.shipping import CARRIERS, MAX_BYTES, LogisticsEvent
from server.errors import NotFound
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.schemas import CampaignQuery, CarriersOut, LogisticsIn
from server.gateway.webhooks import signed_body
from server.ops import shipping
from server.ops.audit import AUTOMATION


async def carriers(request: Request) -> Response:
    names = shipping.carrier_names()
    answer: CarriersOut = {"carriers": [{"code": c, "name": names[c]} for c in CARRIERS]}
    return JSONResponse(answer)


async def upload_shipments(request: Request) -> Response:
    """A CSV of order id, carrier, tracking number: every row good, or nothing shipped and
    every bad row named (422 invalid_rows)."""
    gw = gateway(request)
    gw.require_ops(request)
    raw = await read_body(request, MAX_BYTES)  # a body too large: 413 before anything else
    query = parse_params(dict(request.query_params), CampaignQuery)
    result = await shipping.upload_tracking(gw, AUTOMATION, query.campaign_id, raw)
    return JSONResponse(result.view())


async def logistics_webhook(request: Request) -> Response:
    gw = gateway(request)
    if not gw.settings.logistics_secret:
        raise NotFound("no logistics provider is configured", None, "not_configured")
    raw = await signed_body(request, gw.settings.logistics_secret)
    notice = parse_json(raw, LogisticsIn)
    event = LogisticsEvent(
        notice.carrier,
        notice.tracking_no,
        notice.event_id,
        notice.status,
        to_ms(notice.at),
        notice.text,
    )
    return JSONResponse(await shipping.record_event(gw, notice.order_id, event))


routes = [
    Route("/carriers", carriers, methods=["GET"]),
    Route("/ops/shipments", upload_shipments, methods=["POST"]),
    Route("/logistics/webhook", logistics_webhook, methods=["POST"]),
]
