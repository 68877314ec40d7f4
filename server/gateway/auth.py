"""Viewer tokens (signed, expiring, naming the user) and the ops token."""

from __future__ import annotations

import hmac
import re
import time
from datetime import UTC, datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import Request

from server.errors import Forbidden, Unauthorized

USER_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ViewerTokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="liveroom.viewer")
        self._ttl_s = ttl_s

    def issue(self, user_id: str) -> tuple[str, datetime]:
        token = self._serializer.dumps({"u": user_id})
        expires = datetime.fromtimestamp(time.time() + self._ttl_s, tz=UTC)
        return token, expires

    def user(self, token: str) -> str:
        try:
            payload = self._serializer.loads(token, max_age=self._ttl_s)
        except SignatureExpired:
            raise Unauthorized("token expired; log in again", "Authorization") from None
        except BadSignature:
            raise Unauthorized("token is not valid", "Authorization") from None
        user = payload.get("u") if isinstance(payload, dict) else None
        if not isinstance(user, str) or not USER_ID_RE.match(user):
            raise Unauthorized("token is not valid", "Authorization")
        return user


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'", "Authorization")
    return token.strip()


def require_ops(request: Request, ops_token: str) -> None:
    if not hmac.compare_digest(bearer(request).encode(), ops_token.encode()):
        raise Forbidden("not an ops token", "Authorization")
