"""Rate limits at the edge: per viewer and per client address, per kind of call, in this
process (domain/rate_limit.py). A refusal is 429 `rate_limited` with Retry-After."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from server.domain.rate_limit import Limiter, Rate
from server.errors import LiveroomError
from server.telemetry import RATE_LIMITED


class RateLimited(LiveroomError):
    status = 429
    code = "rate_limited"

    def __init__(self, wait_s: float, by: str) -> None:
        super().__init__(f"too many requests from this {by}; retry in a moment", None)
        self.headers = {"retry-after": str(max(1, math.ceil(wait_s)))}


class RateLimits:
    def __init__(self, rates: Mapping[str, Rate]) -> None:
        self._limiters = {name: Limiter(rate) for name, rate in rates.items() if not rate.off}

    def check(self, call: str, viewer: str | None, address: str | None) -> None:
        """Count one `call` ("orders", "payments", "sessions") by this viewer from this
        address; raise RateLimited when either has had its share."""
        now = time.monotonic()
        for by, key in (("address", address), ("viewer", viewer)):
            limiter = self._limiters.get(f"{call}.{by}")
            if limiter is None or key is None:
                continue
            wait = limiter.wait_s(key, now)
            if wait:
                RATE_LIMITED.labels(call, by).inc()
                raise RateLimited(wait, "viewer" if by == "viewer" else "address")
