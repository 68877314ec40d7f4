"""Payments: a viewer opens the next stage with a provider the deployment offers; the provider
confirms through its signed notification (the generic webhook, WeChat Pay's or Alipay's)."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from server.clock import to_ms
from server.domain.buckets import keyspace_of
from server.domain.campaign import Campaign
from server.domain.lifecycle import balance_due_ms, next_stage, stage_amount_fen
from server.domain.phases import balance_window_open
from server.domain.pricing import ANONYMOUS
from server.errors import BadInput, Conflict, LiveroomError, NotFound, Unauthorized, Unavailable
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.identity import identity_of
from server.gateway.schemas import ORDER_ID_PATTERN, NoFields, PaymentIn, PayQrQuery, WebhookIn
from server.gateway.views import payment_view
from server.gateway.webhooks import signed_body
from server.ledger import refund_outbox
from server.payments.providers import BadNotice, ProviderUnavailable, RefundNotice
from server.share.qr import qr_svg

log = logging.getLogger("liveroom.payments")

_OPEN_REFUSALS: dict[str, tuple[type[LiveroomError], str | None, str, str]] = {
    "not_found": (NotFound, "order_id", "no such order", "not_found"),
    "wrong_status": (Conflict, None, "this order has nothing to pay now", "nothing_to_pay"),
    "expired": (Conflict, None, "the payment deadline has passed", "payment_deadline_passed"),
}
_ORDER_ID_RE = re.compile(ORDER_ID_PATTERN)


async def open_payment(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    gw.rate_limits.check("payments", user, request.client.host if request.client else None)
    order_id = request.path_params["oid"]
    _check_order_id(order_id)
    raw = await read_body(request)
    asked = parse_json(raw, PaymentIn)
    provider = asked.provider or gw.settings.payment_providers[0]
    if provider not in gw.settings.payment_providers:
        offered = ", ".join(gw.settings.payment_providers)
        raise BadInput(f"not offered here (offered: {offered})", "provider", "provider_not_offered")
    live = gw.runtime.live_for_order(order_id)
    order = await live.stock.order(order_id)
    if order is None or order["user"] != user:
        raise NotFound("no such order", "order_id")
    stage = next_stage(order["mode"], order["status"])
    if stage is None:
        raise Conflict(f"nothing to pay: the order is {order['status']}", None, "nothing_to_pay")
    now = gw.runtime.clock.now()
    if stage == "balance" and not balance_window_open(live.campaign, now):
        raise Conflict("the balance can be paid only in its window", None, "window_closed")
    if stage == "balance" and live.campaign.fulfilment and not order.get("address_id"):
        # a presale chooses where it ships at the latest with its balance (SPEC: fulfilment)
        raise Conflict("choose where the order ships first", "address_id", "address_needed")
    offer, who = False, ANONYMOUS
    if stage == "balance":  # the balance follows the buyer's identity, as the quote did
        offer = await live.orders.depositor_offer_open()
        who = await identity_of(gw.identities, live.orders, live.campaign, user)
    amount = stage_amount_fen(
        live.campaign, stage, order["qty"], order["amount_due_fen"], offer, who
    )

    async def start() -> tuple[int, Any]:
        # named after the order's keyspace, where the payment is kept beside it
        payment_id = f"{keyspace_of(order_id)}~{secrets.token_hex(8)}"
        answer = await live.orders.open_payment(
            to_ms(now), order_id, user, payment_id, stage, amount, provider
        )
        if answer.record is None:
            error, field, message, code = _OPEN_REFUSALS[answer.code]
            raise error(message, field, code)
        view = payment_view(answer.record)
        if view["provider"] != "sandbox":
            view["checkout"] = await _checkout(gw, live.campaign, answer.record, asked)
        return 201, view

    return await gw.idempotency.run(request, "payments", user, raw, start, target=order_id)


async def _checkout(
    gw: Gateway, campaign: Campaign, payment: dict[str, Any], asked: PaymentIn
) -> dict[str, str]:
    """What the page needs to pay at the payment's provider (the provider of a payment
    opened before stays its provider, whatever this call asked)."""
    provider = payment["provider"]
    try:
        if provider == "wechat" and gw.wechatpay is not None:
            return await gw.wechatpay.checkout(payment, campaign.name, asked.openid)
        if provider == "alipay" and gw.alipay is not None:
            return gw.alipay.checkout(payment, campaign.name)
    except ProviderUnavailable as exc:
        log.warning("%s could not open payment %s: %s", provider, payment["id"], exc)
        raise Unavailable(
            f"{provider} did not answer", "provider", "provider_unavailable"
        ) from None
    # offered when the payment opened, configured away since: the page cannot pay it
    raise Unavailable(f"{provider} is not configured", "provider", "provider_unavailable")


async def payment_webhook(request: Request) -> Response:
    gw = gateway(request)
    raw = await signed_body(request, gw.settings.payment_secret)
    notice = parse_json(raw, WebhookIn)
    return await _settle(gw, "sandbox", notice.payment_id, notice.amount_fen, notice.status)


async def wechat_notify(request: Request) -> Response:
    """WeChat Pay's notifications: a payment's success, or a refund's result. Verified and
    decrypted by the SDK; a repeat settles nothing twice (WeChat retries until a 2xx)."""
    gw = gateway(request)
    raw = await read_body(request)
    if gw.wechatpay is None:
        raise NotFound("WeChat Pay is not configured", None, "payments_not_configured")
    try:
        notice = gw.wechatpay.decode(request.headers, raw)
    except BadNotice as exc:
        log.warning("WeChat Pay notification refused: %s", exc)
        raise Unauthorized(f"bad notification: {exc}", "Wechatpay-Signature") from None
    if isinstance(notice, RefundNotice):
        now = gw.runtime.clock.now_ms()
        await refund_outbox.record(gw.ledger, notice.refund_id, notice.answer, now)
        return JSONResponse({"result": notice.answer.state})
    return await _settle(gw, "wechat", notice.payment_id, notice.amount_fen, notice.status)


async def alipay_notify(request: Request) -> Response:
    """Alipay's trade notifications (form-encoded, RSA2-signed). Alipay stops retrying only
    when the answer is the word `success`."""
    gw = gateway(request)
    raw = await read_body(request)
    if gw.alipay is None:
        raise NotFound("Alipay is not configured", None, "payments_not_configured")
    try:
        notice = gw.alipay.decode(raw)
    except BadNotice as exc:
        log.warning("Alipay notification refused: %s", exc)
        raise Unauthorized(f"bad notification: {exc}", "sign") from None
    await _settle(gw, "alipay", notice.payment_id, notice.amount_fen, notice.status)
    return PlainTextResponse("success")


async def _settle(
    gw: Gateway, provider: str, payment_id: str, amount_fen: int, status: str
) -> Response:
    """Apply a provider's word on a payment, only the provider that took it."""
    live = gw.runtime.live_for_payment(payment_id)
    if live is None:
        log.warning("%s notice for unknown payment %s", provider, payment_id)
        raise NotFound("unknown payment", "payment_id", "unknown_payment")
    answer = await live.orders.settle_payment(
        gw.runtime.clock.now_ms(),
        payment_id,
        amount_fen,
        status,
        balance_due_ms(live.campaign),
        provider,
    )
    if answer.code == "unknown":  # none by that id, or another provider's
        log.warning("%s notice for unknown payment %s", provider, payment_id)
        raise NotFound("unknown payment", "payment_id", "unknown_payment")
    if answer.code == "amount_mismatch":
        log.warning("notice amount %d does not match payment %s", amount_fen, payment_id)
        raise BadInput("amount does not match the payment", "amount_fen", "amount_mismatch")
    if answer.code == "refunded":
        log.info("payment %s arrived after its order ended: refunded", payment_id)
    assert answer.record is not None
    return JSONResponse({"result": answer.code, "payment": payment_view(answer.record)})


async def sandbox_succeed(request: Request) -> Response:
    """The demo's payment provider, for pages that cannot sign webhooks: settles one
    payment as succeeded. Exists only where demo login does (never in production)."""
    gw = gateway(request)
    if not gw.settings.demo_login:
        raise NotFound("no such endpoint", None)
    parse_json(await read_body(request), NoFields)
    user = gw.viewer(request.headers)
    payment_id = request.path_params["pid"]
    live = gw.runtime.live_for_payment(payment_id)
    payment = await live.orders.payment(payment_id) if live else None
    if live is None or payment is None or payment["user"] != user:
        raise NotFound("unknown payment", "payment_id", "unknown_payment")
    answer = await live.orders.settle_payment(
        gw.runtime.clock.now_ms(),
        payment_id,
        payment["amount_fen"],
        "succeeded",
        balance_due_ms(live.campaign),
    )
    if answer.code == "unknown":  # a real provider's payment: that provider says
        raise NotFound("unknown payment", "payment_id", "unknown_payment")
    assert answer.record is not None
    return JSONResponse({"result": answer.code, "payment": payment_view(answer.record)})


def _check_order_id(order_id: str) -> None:
    if not _ORDER_ID_RE.fullmatch(order_id):
        raise NotFound(f"no order {order_id!r}", "order_id")


async def pay_qr(request: Request) -> Response:
    """A WeChat Native payment's code_url as a QR code, for a viewer outside WeChat to scan.
    Only such URLs are drawn (PayQrQuery): it is no general QR service."""
    asked = parse_params(dict(request.query_params), PayQrQuery)
    svg = qr_svg(asked.url)
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-store"})


routes = [
    Route("/orders/{oid}/payments", open_payment, methods=["POST"]),
    Route("/payments/webhook", payment_webhook, methods=["POST"]),
    Route("/payments/wechat/notify", wechat_notify, methods=["POST"]),
    Route("/payments/alipay/notify", alipay_notify, methods=["POST"]),
    Route("/payments/qr.svg", pay_qr, methods=["GET"]),
    Route("/sandbox/payments/{pid}/succeed", sandbox_succeed, methods=["POST"]),
]
