"""A viewer's tag on the live feed: which live rooms have a new notice, told without naming
the viewer to everyone on the campaign's feed (a keyed digest of the user id)."""

from __future__ import annotations

import hashlib
import hmac


def inbox_tag(secret: str, user: str) -> str:
    return hmac.new(secret.encode(), f"inbox:{user}".encode(), hashlib.sha256).hexdigest()[:16]
