"""After-sale through the API: a buyer's request with photos (multipart), ops' queue, the
photos, and the decision."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from server.domain.after_sale import MAX_PHOTOS, MAX_REQUEST_BYTES, REASONS
from server.errors import BadInput, NotFound
from server.fulfilment.photos import clean_photo, photo_path
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.schemas import CAMPAIGN_ID_PATTERN, StrictBody
from server.gateway.uploads import files_of, upload_form
from server.gateway.views import order_view
from server.ledger.schema import after_sales
from server.ops import after_sale
from server.ops.audit import AUTOMATION


class ApprovalIn(StrictBody):
    units: Annotated[int, Field(ge=0, le=10_000)] = 0
    amount_fen: Annotated[int, Field(gt=0, le=100_000_000)] | None = None
    restock_units: Annotated[int, Field(ge=0, le=10_000)] = 0
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class RejectIn(StrictBody):
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class AfterSaleQuery(StrictBody):
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)]
    status: Literal["open", "approved", "rejected"] | None = None


async def open_request(request: Request) -> Response:
    """Form fields: reason, units, text; photos: up to six image files."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    async with upload_form(request, MAX_REQUEST_BYTES, MAX_PHOTOS) as form:
        reason = str(form.get("reason", ""))
        if reason not in REASONS:
            raise BadInput(f"one of {', '.join(REASONS)}", "reason", "invalid")
        units_text = str(form.get("units", ""))
        if not units_text.isdigit() or len(units_text) > 5:
            raise BadInput("a number of units", "units", "invalid")
        text = str(form.get("text", "")).strip()
        if len(text) > 400:
            raise BadInput("at most 400 characters", "text", "length")
        photos = [  # decoding is CPU work: off the event loop the orders run on
            await asyncio.to_thread(clean_photo, raw, f"photos[{i}]")
            for i, raw in enumerate(await files_of(form, "photos"))
        ]
    order_id = request.path_params["oid"]
    found = await after_sale.open_request(gw, user, order_id, reason, int(units_text), text, photos)
    return JSONResponse(_request_view(found), status_code=201)


def _request_view(found: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "order_id", "status", "reason", "units", "text", "refund_fen", "restock_units")
    return {k: found.get(k) for k in keep} | {"photos": len(found.get("photos") or [])}


async def queue(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), AfterSaleQuery)
    where = [after_sales.c.campaign_id == query.campaign_id]
    if query.status:
        where.append(after_sales.c.status == query.status)
    statement = select(after_sales).where(*where).order_by(after_sales.c.opened_at_ms).limit(500)
    async with gw.ledger.connect() as conn:
        rows = [{str(k): v for k, v in r._mapping.items()} for r in await conn.execute(statement)]
    return JSONResponse({"requests": rows})


async def photo(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    path = photo_path(gw.settings.data_dir, request.path_params["rid"], request.path_params["name"])
    if path is None:
        raise NotFound("no such photo", "name")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private"})


async def approve(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), ApprovalIn)
    given = (body.units, body.amount_fen, body.restock_units)
    decided = await after_sale.decide(
        gw, AUTOMATION, request.path_params["rid"], True, body.reason, given
    )
    return JSONResponse(await _with_order(gw, decided))


async def reject(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), RejectIn)
    decided = await after_sale.decide(
        gw, AUTOMATION, request.path_params["rid"], False, body.reason
    )
    return JSONResponse(await _with_order(gw, decided))


async def _with_order(gw: Gateway, decided: dict[str, Any]) -> dict[str, Any]:
    live, _ = await after_sale.find(gw, str(decided["id"]))
    order = await live.stock.order(str(decided["order_id"]))
    view = order_view(order, live.campaign.timezone) if order else None
    return {"request": _request_view(decided), "order": view}


routes = [
    Route("/orders/{oid}/after-sale", open_request, methods=["POST"]),
    Route("/ops/after-sales", queue, methods=["GET"]),
    Route("/ops/after-sales/{rid}/photos/{name}", photo, methods=["GET"]),
    Route("/ops/after-sales/{rid}/approve", approve, methods=["POST"]),
    Route("/ops/after-sales/{rid}/reject", reject, methods=["POST"]),
]
