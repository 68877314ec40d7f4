"""The broadcast desk's calls: the presale -> group move, and notices to every live room."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import Conflict
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import PresaleToGroupOut, StrictBody
from server.i18n import t, yuan


class EmptyIn(StrictBody):
    """The call takes no fields."""


class NoticeIn(StrictBody):
    text: Annotated[str, Field(min_length=1, max_length=120)]


async def presale_to_group(request: Request) -> Response:
    """Open the exclusive depositor group offer and notify every depositor, once."""
    gw = gateway(request)
    gw.require_ops(request)
    parse_json(await read_body(request), EmptyIn)
    live = gw.runtime.live(request.path_params["cid"])
    campaign = live.campaign
    if campaign.depositor_group is None:
        raise Conflict("this campaign has no depositor offer", None, "no_offer")
    if gw.runtime.clock.now() < campaign.depositor_group.opens_at:
        raise Conflict("the depositor offer opens with the group-buy phase", None, "window_closed")
    depositors = await live.orders.depositors()
    price = campaign.depositor_group.price_fen
    balance = price - campaign.presale_rules.deposit_fen
    text = t("notice.depositor_offer", price=yuan(price), balance=yuan(balance))
    answer = await live.orders.open_depositor_offer(gw.runtime.clock.now_ms(), text, depositors)
    assert answer.record is not None
    result: PresaleToGroupOut = {
        "result": "opened" if answer.code == "opened" else "already",
        "depositors_notified": answer.record["depositors"],
        "price_fen": price,
        "balance_fen": balance,
    }
    return JSONResponse(result)


async def push_notice(request: Request) -> Response:
    """The host's words to every live room ("开抢！", "还剩 100 盒"): a banner, kept as the
    latest notice so a viewer who opens the page later still sees it."""
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), NoticeIn)
    live = gw.runtime.live(request.path_params["cid"])
    notice = {"kind": "host", "text": body.text, "at_ms": gw.runtime.clock.now_ms()}
    await live.orders.push_notice(notice)
    return JSONResponse(notice, status_code=201)


async def clear_notice(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    live = gw.runtime.live(request.path_params["cid"])
    notice = {"kind": "clear", "text": "", "at_ms": gw.runtime.clock.now_ms()}
    await live.orders.push_notice(notice)
    return JSONResponse(notice)


routes = [
    Route("/ops/campaigns/{cid}/presale-to-group", presale_to_group, methods=["POST"]),
    Route("/ops/campaigns/{cid}/notices", push_notice, methods=["POST"]),
    Route("/ops/campaigns/{cid}/notices", clear_notice, methods=["DELETE"]),
]
