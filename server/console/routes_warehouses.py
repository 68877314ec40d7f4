"""Warehouses and shipping in the console: each warehouse's units, its pick list (CSV), the
tracking upload with every bad row named, and an order's route overridden."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from starlette.responses import Response
from starlette.routing import Route

from server.console.csv_export import pick_list_csv
from server.console.guard import Visit, page, render, see_other
from server.console.routes_finance import chosen
from server.domain.regions import region_of
from server.errors import BadInput, InvalidRows
from server.i18n import t
from server.ops import fulfilment, shipping
from server.runtime import LiveCampaign


async def _page(visit: Visit, live: LiveCampaign, status: int = 200, **extra: object) -> Response:
    found = await fulfilment.warehouses(visit.gw, live.campaign.id)
    for house in found["warehouses"]:
        house["place"] = region_of(house["location"]).label
    return render(
        visit,
        "console/warehouses.html",
        live=live,
        campaigns=list(visit.gw.runtime.campaigns.values()),
        found=found,
        carriers=shipping.carrier_names(),
        status=status,
        **extra,
    )


@page("warehouses.view")
async def warehouses(visit: Visit) -> Response:
    return await _page(visit, chosen(visit))


@page("orders.fulfil")
async def pick_list(visit: Visit) -> Response:
    """Addresses whole for a role that ships (addresses.view), masked for anyone else."""
    live = chosen(visit)
    code = visit.request.path_params["code"]
    whole = visit.can("addresses.view")
    lines = await fulfilment.pick_lines(visit.gw, live.campaign.id, code, whole)
    return pick_list_csv(f"pick-list-{code}", lines, ZoneInfo(live.campaign.timezone))


@page("orders.fulfil")
async def upload_shipments(visit: Visit) -> Response:
    live = chosen(visit)
    upload = visit.upload("file")
    if upload is None or not upload.filename:
        raise BadInput("choose the CSV file to upload", "file", "required")
    raw = await upload.read()
    try:
        result = await shipping.upload_tracking(visit.gw, visit.actor, live.campaign.id, raw)
    except InvalidRows as refused:
        rows = [
            {"line": line, "field": p.field, "message": _problem_words(p.code)}
            for line, p in refused.problems
        ]
        return await _page(visit, live, refused_rows=rows, status=422)
    return await _page(visit, live, uploaded=result.view())


def _problem_words(code: str) -> str:
    return t(f"errors.{code}") if code else t("errors.invalid")


@page("warehouses.route")
async def override_route(visit: Visit) -> Response:
    """Ship all of an order's units from one warehouse ops choose."""
    oid: str = visit.request.path_params["oid"]
    code = visit.text("warehouse", 64)
    live = visit.gw.runtime.live_for_order(oid)
    order = await live.stock.order(oid)
    if order is None:
        raise BadInput("no such order", "order_id", "not_found")
    await fulfilment.override_route(visit.gw, visit.actor, oid, [(code, order["qty"])])
    return see_other(f"/console/orders/{oid}", "rerouted")


routes = [
    Route("/console/warehouses", warehouses, methods=["GET"]),
    Route("/console/warehouses/{code}/pick-list.csv", pick_list, methods=["GET"]),
    Route("/console/warehouses/shipments", upload_shipments, methods=["POST"]),
    Route("/console/orders/{oid}/route", override_route, methods=["POST"]),
]
