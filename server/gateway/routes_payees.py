"""A distributor's payee (where payouts are sent: their WeChat openid, and the real name WeChat
checks from ¥2,000) and the transfers sent to it."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain import payouts as rules
from server.domain.privacy import mask_name, mask_user
from server.errors import NotFound
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.order_lane import client_address
from server.gateway.routes_distribution import own_record
from server.gateway.schemas import NoFields, PayeeIn
from server.ledger import payout_outbox
from server.payments.wechat_config import WeChatPayConfig


async def _code(gw: Gateway, request: Request) -> str:
    record = await own_record(gw, gw.viewer(request.headers))
    return str(record["code"])


async def set_payee(request: Request) -> Response:
    gw = gateway(request)
    raw = await read_body(request)
    code = await _code(gw, request)
    asked = parse_json(raw, PayeeIn)
    payee = rules.check_payee(asked.provider, asked.account.strip(), asked.name.strip())
    # wall clock, as the payouts' own times: payouts booked before it were paid outside
    await payout_outbox.set_payee(gw.ledger, code, payee, int(time.time() * 1000))
    return JSONResponse(payee_view(payee))


async def my_payee(request: Request) -> Response:
    gw = gateway(request)
    code = await _code(gw, request)
    payee = await payout_outbox.payee_of(gw.ledger, code)
    return JSONResponse({"payee": payee_view(payee) if payee else None})


async def my_payouts(request: Request) -> Response:
    gw = gateway(request)
    code = await _code(gw, request)
    sends = await payout_outbox.sends_of(gw.ledger, code)
    return JSONResponse({"payouts": [payout_view(s, gw.settings.wechatpay) for s in sends]})


async def receipt_confirmed(request: Request) -> Response:
    """The payee confirmed a transfer in WeChat: the worker asks WeChat about it at once
    instead of after its pause, so the page shows it arrived. Only the timing changes:
    what WeChat answers decides the state."""
    gw = gateway(request)
    parse_json(await read_body(request), NoFields)
    user = gw.viewer(request.headers)
    # each call makes the worker ask WeChat: held to the pace of opening payments
    gw.rate_limits.check("payments", user, client_address(request.scope))
    code = str((await own_record(gw, user))["code"])
    payout_id = request.path_params["payout_id"]
    now = gw.runtime.clock.now_ms()
    send = await payout_outbox.ask_soon(gw.ledger, code, payout_id, now)
    if send is None:
        raise NotFound("no such payout of yours", "payout_id", "payout_not_found")
    return JSONResponse(payout_view(send, gw.settings.wechatpay))


def payee_view(payee: rules.Payee) -> dict[str, Any]:
    """Shown masked even to its owner: the page needs only to know which one it is."""
    return {
        "provider": payee.provider,
        "account": mask_user(payee.account),
        "name": mask_name(payee.name),
    }


def payout_view(send: dict[str, Any], wechat: WeChatPayConfig | None) -> dict[str, Any]:
    # What the page hands WeChat (JSAPI requestMerchantTransfer) for the payee to confirm
    confirm_request = None
    if wechat is not None and send["state"] == rules.PROCESSING and send["confirm"]:
        confirm_request = {"mchId": wechat.mchid, "appId": wechat.appid, "package": send["confirm"]}
    return {
        "payout_id": send["payout_id"],
        "amount_fen": send["amount_fen"],
        "sent_at_ms": send["planned_at_ms"],
        "state": send["state"],
        "detail": send["detail"],
        # what the payee can do about a refusal (the detail is the provider's own words)
        "reason": rules.refusal_reason(send["detail"]) if send["state"] == rules.REFUSED else None,
        "confirm": send["confirm"],  # WeChat's package_info while it waits for the payee
        "confirm_request": confirm_request,
    }


routes = [
    Route("/distributors/me/payee", my_payee, methods=["GET"]),
    Route("/distributors/me/payee", set_payee, methods=["PUT"]),
    Route("/distributors/me/payouts", my_payouts, methods=["GET"]),
    Route(
        "/distributors/me/payouts/{payout_id}/receipt-confirmed",
        receipt_confirmed,
        methods=["POST"],
    ),
]
