"""How long each endpoint takes to answer, for Prometheus: one histogram, labelled by the
route's template (never the raw path: a scan of random URLs must not grow the registry),
the method and the status class, from the first byte of the request read to the last of
the answer written.

The order lane times its own answers with `observe` (a middleware layer around the spike's
every request cost twice as much as the observation itself); this middleware, after the
lane, times every other request. The live feeds are websockets and are measured by their
own lag instead (server/feeds/hub.py).
"""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_SECONDS = Histogram(
    "liveroom_request_seconds",
    "Time to answer an HTTP request, by route template, method and status class",
    ["endpoint", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ORDER_ENDPOINT = "/api/v1/campaigns/{cid}/orders"
UNMATCHED = "unmatched"  # no route: 404s, scans


# the labelled series, found once: prometheus-client's labels() takes a lock
_series: dict[tuple[str, str, str], Histogram] = {}


def observe(endpoint: str, method: str, status: int, seconds: float) -> None:
    key = (endpoint, method, f"{status // 100}xx")
    series = _series.get(key)
    if series is None:
        series = _series[key] = REQUEST_SECONDS.labels(*key)
    series.observe(seconds)


def endpoint_of(scope: Scope) -> str:
    """The template of the route that answered (read after the app ran: the router writes
    it into the scope), else "unmatched"."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return str(scope.get("root_path", "")) + path


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an answer never started is a server error

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            observe(endpoint_of(scope), scope["method"], status, time.perf_counter() - started)
