"""After-sale in the console: the queue (open first), a request with its photos, and the
decision: refund some units or an amount, some units back in stock, or a rejection."""

from __future__ import annotations

from sqlalchemy import case, select
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from server.console.campaign_form import fen_of
from server.console.guard import Visit, page, render, see_other
from server.console.routes_finance import chosen
from server.errors import BadInput, NotFound
from server.fulfilment.photos import photo_path
from server.ledger.schema import after_sales
from server.ops import after_sale


@page("orders.view")
async def queue(visit: Visit) -> Response:
    live = chosen(visit)
    statement = (
        select(after_sales)
        .where(after_sales.c.campaign_id == live.campaign.id)
        .order_by(case((after_sales.c.status == "open", 0), else_=1), after_sales.c.opened_at_ms)
        .limit(500)
    )
    async with visit.gw.ledger.connect() as conn:
        rows = [r._mapping for r in await conn.execute(statement)]
    return render(visit, "console/after_sales.html", live=live, rows=rows)


@page("orders.view")
async def detail(visit: Visit) -> Response:
    live, request = await after_sale.find(visit.gw, visit.request.path_params["rid"])
    order = await live.stock.order(request["order_id"])
    return render(
        visit,
        "console/after_sale.html",
        live=live,
        ask=request,  # `request` is the page's own request in a template
        order=order,
        zone=live.campaign.timezone,
    )


@page("orders.view")
async def photo(visit: Visit) -> Response:
    params = visit.request.path_params
    path = photo_path(visit.gw.settings.data_dir, params["rid"], params["name"])
    if path is None:
        raise NotFound("no such photo", "name")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private"})


def _whole(visit: Visit, name: str) -> int:
    text = visit.text(name, 8) or "0"
    if not text.isdigit():
        raise BadInput("a whole number of boxes", name, "invalid")
    return int(text)


@page("orders.refund")
async def decide(visit: Visit) -> Response:
    rid: str = visit.request.path_params["rid"]
    approve = visit.request.url.path.endswith("/approve")
    reason = visit.text("reason", 200)
    if not reason:
        raise BadInput("say why", "reason", "required")
    amount = None
    if approve and visit.text("amount", 20):
        try:
            amount = fen_of(visit.text("amount", 20))
        except ValueError:
            raise BadInput("an amount in yuan", "amount", "amount_out_of_range") from None
    given = (_whole(visit, "units"), amount, _whole(visit, "restock_units"))
    await after_sale.decide(visit.gw, visit.actor, rid, approve, reason, given)
    return see_other(f"/console/after-sales/{rid}", "decided")


routes = [
    Route("/console/after-sales", queue, methods=["GET"]),
    Route("/console/after-sales/{rid}", detail, methods=["GET"]),
    Route("/console/after-sales/{rid}/photos/{name}", photo, methods=["GET"]),
    Route("/console/after-sales/{rid}/approve", decide, methods=["POST"]),
    Route("/console/after-sales/{rid}/reject", decide, methods=["POST"]),
]
