"""How long each endpoint takes to answer, for Prometheus: one histogram, labelled by the
route's template (never the raw path: a scan of random URLs must not grow the registry),
the method and the status class.

Outermost in the HTTP stack, so the order lane's answers count too, from the first byte of
the request read to the last of the answer written. The live feeds are websockets and are
measured by their own lag instead (server/feeds/hub.py).
"""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.gateway.order_lane import order_campaign

REQUEST_SECONDS = Histogram(
    "liveroom_request_seconds",
    "Time to answer an HTTP request, by route template, method and status class",
    ["endpoint", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ORDER_ENDPOINT = "/api/v1/campaigns/{cid}/orders"
UNMATCHED = "unmatched"  # no route: 404s, scans


def endpoint_of(scope: Scope) -> str:
    """The template of the route that answered (read after the app ran: the router writes
    it into the scope), the order endpoint's without routing, else "unmatched"."""
    if order_campaign(scope) is not None:
        return ORDER_ENDPOINT
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return str(scope.get("root_path", "")) + path


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # the labelled series, found once: prometheus-client's labels() takes a lock
        self._series: dict[tuple[str, str, str], Histogram] = {}

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
            key = (endpoint_of(scope), scope["method"], f"{status // 100}xx")
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = REQUEST_SECONDS.labels(*key)
            series.observe(time.perf_counter() - started)
