"""A viewer's address book, and the address an order ships to."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.addresses import parse_address, shown
from server.domain.regions import divisions, provinces
from server.errors import Conflict, NotFound
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import (
    AddressesOut,
    AddressIn,
    NoFields,
    OrderAddressIn,
    RegionsOut,
)
from server.gateway.views import order_view
from server.ledger.address_book import AddressBook


def _book(gw: Gateway) -> AddressBook:
    return AddressBook(gw.ledger)


async def list_addresses(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    rows = await _book(gw).of_user(user)
    answer: AddressesOut = {"addresses": [shown(r, whole=True) for r in rows]}  # type: ignore[misc]
    return JSONResponse(answer)


async def add_address(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    address = parse_address(parse_json(await read_body(request), AddressIn).model_dump())
    row = await _book(gw).add(user, address, gw.runtime.clock.now_ms())
    return JSONResponse(shown(row, whole=True), status_code=201)


async def edit_address(request: Request) -> Response:
    """An edit retires the old row and adds the new one: orders keep what they ship to."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    address = parse_address(parse_json(await read_body(request), AddressIn).model_dump())
    replaces = request.path_params["aid"]
    row = await _book(gw).add(user, address, gw.runtime.clock.now_ms(), replaces=replaces)
    return JSONResponse(shown(row, whole=True))


async def remove_address(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    await _book(gw).retire(user, request.path_params["aid"], gw.runtime.clock.now_ms())
    return Response(status_code=204)


async def make_default(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    parse_json(await read_body(request), NoFields)
    await _book(gw).make_default(user, request.path_params["aid"])
    return Response(status_code=204)


async def choose_order_address(request: Request) -> Response:
    """Where an order ships: any time before it is routed to a warehouse."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    order_id = request.path_params["oid"]
    body = parse_json(await read_body(request), OrderAddressIn)
    row = await _book(gw).current(user, body.address_id)
    live = gw.runtime.live_for_order(order_id)
    answer = await live.orders.set_address(
        gw.runtime.clock.now_ms(), order_id, user, row["address_id"], row["region_code"]
    )
    if answer.code == "not_found" or answer.record is None:
        raise NotFound("no such order", "order_id")
    if answer.code == "not_allowed":
        raise Conflict(
            f"a {answer.record['status']} order's address can no longer change",
            "address_id",
            "address_locked",
        )
    return JSONResponse(order_view(answer.record, live.campaign.timezone))


async def regions(request: Request) -> Response:
    """The divisions one level below `code` (none: the provinces), for an address picker;
    they change only with a new release, so a browser keeps them a day."""
    code = request.path_params.get("region", "")
    if code:
        division = divisions().get(code)
        if division is None:
            raise NotFound("no such division", "code", "unknown_region")
        below = [divisions()[c] for c in division.children]
    else:
        below = provinces()
    answer: RegionsOut = {
        "regions": [{"code": d.code, "name": d.name, "leaf": not d.children} for d in below]
    }
    return JSONResponse(answer, headers={"Cache-Control": "public, max-age=86400"})


routes = [
    Route("/regions", regions, methods=["GET"]),
    Route("/regions/{region}", regions, methods=["GET"]),
    Route("/me/addresses", list_addresses, methods=["GET"]),
    Route("/me/addresses", add_address, methods=["POST"]),
    Route("/me/addresses/{aid}", edit_address, methods=["PUT"]),
    Route("/me/addresses/{aid}", remove_address, methods=["DELETE"]),
    Route("/me/addresses/{aid}/default", make_default, methods=["POST"]),
    Route("/orders/{oid}/address", choose_order_address, methods=["PUT"]),
]
