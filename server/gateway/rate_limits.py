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
        limiters = {name: Limiter(rate) for name, rate in rates.items() if not rate.off}
        calls = {name.partition(".")[0] for name in rates}
        # per call: its (address, viewer) limiters, None where off (checked on every order)
        self._by_call = {
            call: (limiters.get(f"{call}.address"), limiters.get(f"{call}.viewer"))
            for call in calls
        }

    def check(self, call: str, viewer: str | None, address: str | None) -> None:
        """Count one `call` ("orders", "payments", "sessions") by this viewer from this
        address; raise RateLimited when either has had its share."""
        by_address, by_viewer = self._by_call[call]
        now = time.monotonic()
        if by_address is not None and address is not None:
            wait = by_address.wait_s(address, now)
            if wait:
                RATE_LIMITED.labels(call, "address").inc()
                raise RateLimited(wait, "address")
        if by_viewer is not None and viewer is not None:
            wait = by_viewer.wait_s(viewer, now)
            if wait:
                RATE_LIMITED.labels(call, "viewer").inc()
                raise RateLimited(wait, "viewer")
