"""A viewer's notice settings (promotions on or off), and the sandbox receiver of the notice
webhook, which the demo points its channel at (LIVEROOM_NOTIFY_SANDBOX)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import NotFound
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import (
    NoticeSettingsIn,
    NoticeSettingsOut,
    SandboxNoticeIn,
    SandboxReceiptOut,
)
from server.gateway.webhooks import signed_body
from server.ledger import notice_outbox
from server.store.keys import SandboxKeys


async def my_settings(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    answer: NoticeSettingsOut = {"promotions": await notice_outbox.promotions_on(gw.ledger, user)}
    return JSONResponse(answer)


async def change_settings(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    asked = parse_json(await read_body(request), NoticeSettingsIn)
    now = gw.runtime.clock.now_ms()
    await notice_outbox.set_promotions(gw.ledger, user, asked.promotions, now)
    answer: NoticeSettingsOut = {"promotions": asked.promotions}
    return JSONResponse(answer)


async def sandbox_receiver(request: Request) -> Response:
    """Keeps each notice once by its id, and counts every delivery (a resend after a crash
    shows as a receipt that was a duplicate)."""
    gw = gateway(request)
    await read_body(request)  # within the gateway's body limits, configured or not
    if not gw.settings.notify_sandbox:
        raise NotFound("the sandbox notice receiver is off", None, "not_configured")
    raw = await signed_body(request, gw.settings.notify_secret)
    notice = parse_json(raw, SandboxNoticeIn)
    keys = SandboxKeys(gw.settings.key_prefix)
    async with gw.runtime.redis.pipeline(transaction=True) as pipe:
        pipe.hsetnx(keys.notices, notice.id, raw)
        pipe.incr(keys.receipts)
        first, _ = await pipe.execute()
    answer: SandboxReceiptOut = {"duplicate": not first}
    return JSONResponse(answer)


routes = [
    Route("/me/notice-settings", my_settings, methods=["GET"]),
    Route("/me/notice-settings", change_settings, methods=["PUT"]),
    Route("/sandbox/notify", sandbox_receiver, methods=["POST"]),
]
