"""Viewers of a real deployment: the host platform (the mini-program or app backend) signs a
JWT naming its user, and the live room exchanges it once for a viewer token (checked on
every order, so it stays the cheap HMAC of auth.py).

The JWT must carry `sub` (the user id), `iss` (the configured issuer), `aud` (the configured
audience), `iat` and `exp`, live no longer than a day, and be signed with the configured
secret (HS256) or the private half of the configured public key (RS256, ES256).
"""

from __future__ import annotations

import jwt

from server.errors import Forbidden, Unauthorized
from server.gateway.auth import USER_ID_RE
from server.settings import HostLogin

MAX_LIFETIME_S = 86_400
LEEWAY_S = 30


class HostAssertions:
    def __init__(self, login: HostLogin) -> None:
        self._login = login
        self._key = login.secret or login.public_key
        self._algorithms = ["HS256"] if login.secret else ["RS256", "ES256"]

    def user(self, assertion: str) -> str:
        """The user the host vouches for; raises if the assertion does not hold."""
        if not self._login.on:
            raise Forbidden("host login is not configured", None, "host_login_disabled")
        try:
            claims = jwt.decode(
                assertion,
                self._key,
                algorithms=self._algorithms,
                audience=self._login.audience,
                issuer=self._login.issuer,
                leeway=LEEWAY_S,
                options={"require": ["sub", "iss", "aud", "iat", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized(
                "the host's assertion has expired", "assertion", "token_expired"
            ) from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the host's assertion is not valid: {exc}", "assertion") from None
        user = claims["sub"]
        if not isinstance(user, str) or not USER_ID_RE.fullmatch(user):
            raise Unauthorized("the assertion's sub is not a user id", "assertion")
        if int(claims["exp"]) - int(claims["iat"]) > MAX_LIFETIME_S:
            raise Unauthorized("the assertion lives longer than a day", "assertion")
        return user
