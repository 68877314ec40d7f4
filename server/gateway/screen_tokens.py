"""Screen tokens: what a big screen carries instead of the ops token.

A screen token opens one campaign's dashboard feed and nothing else, read-only, until it
expires or ops revoke it. It is signed claims (signed.py) {"i": id, "c": campaign,
"e": expiry (unix s)} under a key of its own derived from LIVEROOM_SECRET; revocation is
by id (store/screens.py), checked when a screen connects and again while it stays.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from server.errors import Unauthorized
from server.gateway.signed import BadToken, Signer

MAX_TTL_S = 90 * 86_400


@dataclass(frozen=True, slots=True)
class ScreenGrant:
    id: str
    campaign_id: str
    expires: int  # unix seconds

    def expired(self, now: float | None = None) -> bool:
        return self.expires <= (time.time() if now is None else now)


class ScreenTokens:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, "liveroom.screen")

    def mint(
        self, campaign_id: str, ttl_s: int, now: float | None = None
    ) -> tuple[str, ScreenGrant]:
        expires = int((time.time() if now is None else now) + min(ttl_s, MAX_TTL_S))
        grant = ScreenGrant("scr-" + secrets.token_hex(6), campaign_id, expires)
        token = self._signer.sign({"i": grant.id, "c": campaign_id, "e": expires})
        return token, grant

    def grant(self, token: str) -> ScreenGrant:
        """What the token grants; raises Unauthorized if it is forged, foreign or expired."""
        try:
            claims = self._signer.claims(token)
        except BadToken:
            raise Unauthorized("not a screen token", "token") from None
        grant_id, campaign_id, expires = claims.get("i"), claims.get("c"), claims.get("e")
        if not (isinstance(grant_id, str) and isinstance(campaign_id, str)):
            raise Unauthorized("not a screen token", "token")
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise Unauthorized("not a screen token", "token")
        grant = ScreenGrant(grant_id, campaign_id, expires)
        if grant.expired():
            raise Unauthorized("this screen token has expired", "token", "token_expired")
        return grant
