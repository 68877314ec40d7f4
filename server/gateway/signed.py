"""Signed claims: `<payload>.<signature>`, both unpadded base64url, the payload a JSON
object and the signature HMAC-SHA256 of it under a key derived from a secret and a purpose
(so a viewer token is never a screen token, whatever it says).

Decoding is strict: only the canonical encoding of a payload is accepted (no padding, no
characters outside the alphabet, no stray bits), so one token has exactly one spelling.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from typing import Any

import orjson

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class BadToken(ValueError):
    pass


class Signer:
    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hmac.digest(secret.encode(), purpose.encode(), "sha256")

    def sign(self, claims: dict[str, Any]) -> str:
        payload = b64(orjson.dumps(claims))
        return f"{payload}.{b64(self._digest(payload))}"

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims if its signature holds; raises BadToken otherwise."""
        payload, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(unb64(signature), self._digest(payload)):
            raise BadToken("signature does not match")
        try:
            claims = orjson.loads(unb64(payload))
        except orjson.JSONDecodeError:
            raise BadToken("payload is not JSON") from None
        if not isinstance(claims, dict):
            raise BadToken("payload is not an object")
        return claims

    def _digest(self, payload: str) -> bytes:
        return hmac.digest(self._key, payload.encode(), "sha256")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Strict: the alphabet only, no padding, and the canonical spelling of its bytes."""
    if not text.isascii() or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise BadToken("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise BadToken("not base64url") from None
    if b64(raw) != text:
        raise BadToken("not the canonical encoding")
    return raw
