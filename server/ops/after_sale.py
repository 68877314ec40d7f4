"""After-sale: a buyer's request (with photos) on a delivered order, ops' decision."""

from __future__ import annotations

import secrets
import shutil
from typing import Any

from server.domain.after_sale import Reason, check_request, grant
from server.errors import Conflict, NotFound
from server.fulfilment.photos import photo_dir, save_photos
from server.gateway.context import Gateway
from server.ops.audit import Actor
from server.runtime import LiveCampaign

REQUEST_ID_PATTERN = r"^S[0-9a-f]{16}$"


async def open_request(
    gw: Gateway,
    user: str,
    order_id: str,
    reason: Reason,
    units: int,
    text: str,
    photos: list[bytes],
) -> dict[str, Any]:
    """Photos are cleaned before this (fulfilment/photos.py) and kept only if it opens."""
    live = gw.runtime.live_for_order(order_id)
    order = await live.stock.order(order_id)
    if order is None or order["user"] != user:
        raise NotFound("no such order", "order_id")
    check_request(order, units)
    request_id = "S" + secrets.token_hex(8)
    names = save_photos(gw.settings.data_dir, request_id, photos)
    request = {"reason": reason, "units": units, "text": text, "photos": names}
    answer = await live.orders.open_after_sale(
        gw.runtime.clock.now_ms(), order_id, user, request_id, request
    )
    if answer.code != "opened":
        shutil.rmtree(photo_dir(gw.settings.data_dir, request_id), ignore_errors=True)
        raise Conflict("only a delivered order without an open request", None, "not_delivered")
    found = await live.orders.after_sale(request_id)
    assert found is not None
    return found


async def find(gw: Gateway, request_id: str) -> tuple[LiveCampaign, dict[str, Any]]:
    """A request and its campaign (a request id does not name its campaign: ask each)."""
    for live in gw.runtime.campaigns.values():
        found = await live.orders.after_sale(request_id)
        if found is not None:
            return live, found
    raise NotFound("no such after-sale request", "request_id", "no_request")


async def decide(
    gw: Gateway,
    actor: Actor,
    request_id: str,
    approve: bool,
    reason: str,
    given: tuple[int, int | None, int] = (0, None, 0),
) -> dict[str, Any]:
    """Approve (`given`: units refunded, an amount instead of their price, units back in
    stock) or reject, exactly once."""
    live, request = await find(gw, request_id)
    order = await live.stock.order(request["order_id"])
    if order is None or request["status"] != "open":
        raise Conflict("this request was decided already", None, "request_decided")
    units, amount, restock = given
    money = grant(order, units, amount, restock) if approve else None
    answer = await live.orders.decide_after_sale(
        gw.runtime.clock.now_ms(),
        order["id"],
        request_id,
        approve,
        (money.refund_fen, money.units, money.restock_units) if money else (0, 0, 0),
        {"by": actor.name, "reason": reason},
    )
    if answer.code != "decided":
        raise Conflict("the order changed; look again", None, "request_decided")
    decided = await live.orders.after_sale(request_id)
    assert decided is not None
    await gw.audit.record(
        actor,
        "after_sale.approve" if approve else "after_sale.reject",
        order["id"],
        {"refunded_fen": order["refunded_fen"]},
        {
            "request": request_id,
            "refunded_fen": answer.record["refunded_fen"] if answer.record else None,
            "restock_units": decided.get("restock_units", 0),
            "reason": reason,
        },
    )
    return decided
