"""Ops on orders: refund a whole order, drive fulfilment, list and filter from the ledger."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.campaign import Mode
from server.domain.lifecycle import (
    AWAITING_PAYMENT,
    NEXT_FULFILMENT,
    NOT_SHIPPED,
    SHIPPED,
)
from server.errors import Conflict, NotFound, Unavailable
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_params, read_json
from server.gateway.schemas import (
    CAMPAIGN_ID_PATTERN,
    CampaignQuery,
    FulfilmentIn,
    RefundIn,
    StrictBody,
)
from server.gateway.views import order_view
from server.ledger.queries import OrderFilter, finance_report, list_orders
from server.ledger.reconcile import reconcile
from server.store.stock import EndTerms

DAY_MS = 86_400_000


async def refund_order(request: Request) -> Response:
    """Refund everything paid; units go back to the pool unless the goods have shipped."""
    gw = gateway(request)
    gw.require_ops(request)
    order_id = request.path_params["oid"]
    await read_json(request, RefundIn)
    live = gw.runtime.live_for_order(order_id)
    for _ in range(3):  # the order may move on between the read and the script: read again
        order = await live.stock.order(order_id)
        if order is None:
            raise NotFound("no such order", "order_id")
        if order["ended"]:
            raise Conflict(f"the order already ended ({order['status']})", None, "order_ended")
        shipped = order["status"] in SHIPPED
        allowed = SHIPPED if shipped else (AWAITING_PAYMENT, *NOT_SHIPPED)
        status = "refunded" if order["paid_fen"] else "cancelled"
        terms = EndTerms(allowed=",".join(allowed), refund=True, release=not shipped)
        outcome = await live.stock.end_order(gw.runtime.clock.now_ms(), order_id, status, terms)
        if outcome.code == "ended" and outcome.order is not None:
            return JSONResponse(order_view(outcome.order, live.campaign.timezone))
    raise Conflict("the order keeps changing; retry", None, "retry")


async def move_fulfilment(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    order_id = request.path_params["oid"]
    body = await read_json(request, FulfilmentIn)
    live = gw.runtime.live_for_order(order_id)
    now = gw.runtime.clock.now_ms()
    aftersale = None
    if body.status == "delivered":
        aftersale = now + live.campaign.after_sale_days * DAY_MS
    answer = await live.orders.fulfil(
        now,
        order_id,
        body.status,
        NEXT_FULFILMENT[body.status],
        aftersale_due_ms=aftersale,
        warehouse=body.warehouse or "",
    )
    if answer.code == "not_found":
        raise NotFound("no such order", "order_id")
    if answer.code == "not_allowed":
        assert answer.record is not None
        current = answer.record["status"]
        message = f"cannot move a {current} order to {body.status}"
        raise Conflict(message, "status", "wrong_status")
    assert answer.record is not None
    return JSONResponse(order_view(answer.record, live.campaign.timezone))


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
    try:
        found = await list_orders(gw.ledger, OrderFilter(**query.model_dump()))
    except (OperationalError, DBAPIError) as exc:
        raise Unavailable(f"the ledger is not available: {exc.__class__.__name__}") from None
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
    try:
        report = await finance_report(gw.ledger, live.campaign.id)
    except (OperationalError, DBAPIError) as exc:
        raise Unavailable(f"the ledger is not available: {exc.__class__.__name__}") from None
    return JSONResponse(report)


async def reconcile_now(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), CampaignQuery)
    live = gw.runtime.live(query.campaign_id)
    try:
        report = await reconcile(gw.runtime.redis, gw.ledger, live.stock.keys)
    except (OperationalError, DBAPIError) as exc:
        raise Unavailable(f"the ledger is not available: {exc.__class__.__name__}") from None
    return JSONResponse(
        {
            "clean": not report.problems,
            "summary": report.summary(),
            "problems": report.problems[:100],
        }
    )


routes = [
    Route("/ops/reports/finance", finance, methods=["GET"]),
    Route("/ops/reconcile", reconcile_now, methods=["GET"]),
    Route("/ops/orders", list_ops_orders, methods=["GET"]),
    Route("/ops/orders/{oid}/refund", refund_order, methods=["POST"]),
    Route("/ops/orders/{oid}/fulfilment", move_fulfilment, methods=["POST"]),
]
