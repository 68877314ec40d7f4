"""Webhook signatures: `X-Signature: t=<unix>,v1=<hex hmac-sha256 of "<t>.<raw body>">`.

The timestamp is judged by real time (not campaign time), within a tolerance, so a
captured notice cannot be replayed later; the digest is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_S = 300


class BadSignature(ValueError):
    pass


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_digest(secret, t, body)}"


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> None:
    """Raise BadSignature unless the header signs this body, recently, with this secret."""
    if not header.isascii():
        raise BadSignature("expected t=<unix>,v1=<hex>")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        t = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        raise BadSignature("expected t=<unix>,v1=<hex>") from None
    current = time.time() if now is None else now
    if abs(current - t) > TOLERANCE_S:
        raise BadSignature("timestamp outside the tolerance")
    if not hmac.compare_digest(given, _digest(secret, t, body)):
        raise BadSignature("signature does not match")


def _digest(secret: str, t: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
