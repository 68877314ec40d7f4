"""Orders: search and filter the ledger (status, mode, buyer, distributor, group, time), an
order's whole story (every event, payment, refund and commission line), refunds and
fulfilment, and the CSV of any filtered list."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import Field
from starlette.responses import Response
from starlette.routing import Route

from server.clock import to_ms
from server.console.csv_export import orders_csv
from server.console.guard import Visit, page, render, see_other
from server.domain.addresses import shown
from server.domain.campaign import Mode
from server.domain.lifecycle import NEXT_FULFILMENT
from server.errors import BadInput, NotFound
from server.gateway.http import parse_params
from server.gateway.schemas import CAMPAIGN_ID_PATTERN, StrictBody
from server.ledger.address_book import AddressBook
from server.ledger.console_queries import order_story
from server.ledger.queries import OrderFilter, list_orders
from server.ops import orders as order_ops
from server.ops.attribution import source_name

PAGE_SIZE = 50
EXPORT_LIMIT = 200_000  # one campaign's orders, with room


class OrderSearch(StrictBody):
    campaign: str | None = Field(default=None, pattern=CAMPAIGN_ID_PATTERN)
    status: str | None = Field(default=None, pattern=r"^[a-z_]{1,24}$")
    mode: Mode | None = None
    user: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    ref: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,16}$")
    group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,16}$")
    since: datetime | None = None
    until: datetime | None = None
    page: int = Field(default=1, ge=1, le=10_000)


def _search(visit: Visit) -> OrderSearch:
    """The filters from the query string; an empty box is no filter."""
    given = {k: v.strip() for k, v in visit.request.query_params.items() if v.strip()}
    return parse_params(given, OrderSearch)


def _filter(visit: Visit, search: OrderSearch, limit: int | None, offset: int) -> OrderFilter:
    zone = ZoneInfo(visit.zone(search.campaign))

    def ms(moment: datetime | None) -> int | None:
        if moment is None:
            return None
        return to_ms(moment if moment.tzinfo else moment.replace(tzinfo=zone))

    return OrderFilter(
        campaign_id=search.campaign,
        status=search.status,
        mode=search.mode,
        user_id=search.user,
        ref=search.ref,
        group_code=search.group,
        since_ms=ms(search.since),
        until_ms=ms(search.until),
        limit=limit,
        offset=offset,
    )


@page("orders.view")
async def order_list(visit: Visit) -> Response:
    search = _search(visit)
    offset = (search.page - 1) * PAGE_SIZE
    found = await list_orders(visit.gw.ledger, _filter(visit, search, PAGE_SIZE + 1, offset))
    query = {k: v for k, v in visit.request.query_params.items() if k != "page" and v.strip()}
    return render(
        visit,
        "console/orders.html",
        search=search,
        orders=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        query=query,
        zone=visit.zone(search.campaign),
        campaigns=list(visit.gw.runtime.campaigns.values()),
        statuses=STATUSES,
    )


STATUSES = (
    "awaiting_payment",
    "awaiting_balance",
    "paid",
    "allocated",
    "shipped",
    "delivered",
    "completed",
    "expired",
    "cancelled",
    "forfeited",
    "group_failed",
    "refunded",
)


@page("orders.view")
async def export(visit: Visit) -> Response:
    """The filtered list, every row of it, with a total row."""
    search = _search(visit)
    found = await list_orders(visit.gw.ledger, _filter(visit, search, EXPORT_LIMIT, 0))
    return orders_csv("orders", found, ZoneInfo(visit.zone(search.campaign)))


def _order_id(visit: Visit) -> str:
    oid: str = visit.request.path_params["oid"]
    if len(oid) > 96:
        raise BadInput("no such order", "order_id")
    return oid


@page("orders.view")
async def order_detail(visit: Visit) -> Response:
    oid = _order_id(visit)
    story = await order_story(visit.gw.ledger, oid)
    try:
        live = visit.gw.runtime.live_for_order(oid)
        hot = await live.stock.order(oid)  # Redis is ahead of the ledger by a moment
    except (NotFound, BadInput):
        live, hot = None, None
    order = hot or story.order
    if order is None:
        raise NotFound("no such order", "order_id")
    zone = live.campaign.timezone if live else "UTC"
    routed = live is not None and live.campaign.fulfilment is not None
    steps = [
        s
        for s, before in NEXT_FULFILMENT.items()
        if before == order["status"] and not (routed and s == "allocated")
    ]
    address = None
    if order.get("address_id"):
        row = await AddressBook(visit.gw.ledger).get(order["address_id"])
        address = shown(row, whole=visit.can("addresses.view")) if row else None
    houses = live.campaign.fulfilment.warehouses if live and live.campaign.fulfilment else []
    return render(
        visit,
        "console/order.html",
        order=order,
        story=story,
        zone=zone,
        fulfil_steps=steps,
        refundable=not order["ended"],
        routed=routed,
        address=address,
        warehouses={h.code: h.name for h in houses},
        reroutable=routed and not order["ended"] and order["status"] in ("paid", "allocated"),
        touches={
            which: await source_name(visit.gw, order[f"{which}_touch"])
            for which in ("last", "first")
            if order.get(f"{which}_touch")
        },
    )


@page("orders.refund")
async def refund(visit: Visit) -> Response:
    oid = _order_id(visit)
    reason = visit.text("reason", 32) or None
    await order_ops.refund(visit.gw, visit.actor, oid, reason)
    return see_other(f"/console/orders/{oid}", "refunded")


@page("orders.fulfil")
async def fulfil(visit: Visit) -> Response:
    oid = _order_id(visit)
    status = visit.text("status", 24)
    if status not in NEXT_FULFILMENT:
        raise BadInput("choose the next fulfilment step", "status")
    warehouse = visit.text("warehouse", 64) or None
    await order_ops.fulfil(visit.gw, visit.actor, oid, status, warehouse)
    return see_other(f"/console/orders/{oid}", "fulfilled")


routes = [
    Route("/console/orders", order_list, methods=["GET"]),
    Route("/console/orders.csv", export, methods=["GET"]),
    Route("/console/orders/{oid}", order_detail, methods=["GET"]),
    Route("/console/orders/{oid}/refund", refund, methods=["POST"]),
    Route("/console/orders/{oid}/fulfil", fulfil, methods=["POST"]),
]
