"""Viewer tokens (signed, expiring, naming the user) and the ops token.

A viewer token is signed claims (signed.py) {"u": user, "e": expiry (unix s)} under a key
derived from LIVEROOM_SECRET. Checked on every order, so it is kept to one HMAC and one
JSON parse (a general-purpose serializer cost the 开抢 spike several times that).
"""

from __future__ import annotations

import functools
import hmac
import re
import time
from datetime import UTC, datetime

from starlette.datastructures import Headers

from server.errors import Forbidden, Unauthorized
from server.gateway.signed import BadToken, Signer

USER_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # whole-string: always fullmatch


# Tokens whose signature was checked, remembered: in the 开抢 flood the same viewers press
# again and again, so a signature is checked once and only the expiry every time.
VERIFIED_TOKENS_KEPT = 65_536


class ViewerTokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._signer = Signer(secret, "liveroom.viewer")
        self._ttl_s = ttl_s
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._verify)

    def issue(self, user_id: str, now: float | None = None) -> tuple[str, datetime]:
        expires = int((time.time() if now is None else now) + self._ttl_s)
        token = self._signer.sign({"u": user_id, "e": expires})
        return token, datetime.fromtimestamp(expires, tz=UTC)

    def user(self, token: str) -> str:
        user, expires = self._verified(token)
        if expires <= time.time():
            raise Unauthorized("token expired; log in again", "Authorization")
        return user

    def _verify(self, token: str) -> tuple[str, int]:
        """The token's user and expiry if its signature holds; raises (so is not kept) if not."""
        try:
            claims = self._signer.claims(token)
        except BadToken:
            raise Unauthorized("token is not valid", "Authorization") from None
        user, expires = claims.get("u"), claims.get("e")
        if not isinstance(user, str) or not USER_ID_RE.fullmatch(user):
            raise Unauthorized("token is not valid", "Authorization")
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise Unauthorized("token is not valid", "Authorization")
        return user, expires


def bearer(headers: Headers) -> str:
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'", "Authorization")
    return token.strip()


def require_ops(headers: Headers, ops_token: str) -> None:
    if not hmac.compare_digest(bearer(headers).encode(), ops_token.encode()):
        raise Forbidden("not an ops token", "Authorization")
