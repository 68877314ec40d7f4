"""Webhooks from providers (payments, logistics): the body, once its signature checks."""

from __future__ import annotations

import logging

from starlette.requests import Request

from server.errors import Unauthorized
from server.gateway.http import read_body
from server.payments.signature import BadSignature, verify

log = logging.getLogger("liveroom.webhooks")


async def signed_body(request: Request, secret: str) -> bytes:
    """The raw body, or Unauthorized naming the X-Signature header."""
    raw = await read_body(request)
    header = request.headers.get("x-signature")
    if header is None:
        raise Unauthorized("missing X-Signature", "X-Signature")
    try:
        verify(secret, header, raw)
    except BadSignature as exc:
        log.warning("%s refused: %s", request.url.path, exc)
        raise Unauthorized(f"bad signature: {exc}", "X-Signature") from None
    return raw
