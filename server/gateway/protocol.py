"""The HTTP protocol the gateway is served with: uvicorn's httptools protocol with deadlines
and a connection cap, so slow clients cannot hold the gateway.

uvicorn bounds only the idle time between requests (keep-alive). A client that sends one
header byte every few seconds, or a body that trickles in, would hold its connection (and
its file descriptor) for as long as it likes. Here:
  - the headers of a request must arrive within `header_timeout_s` of its first byte (or of
    the connection opening);
  - its body within `body_timeout_s` of the headers;
  - past `max_connections` open connections (websockets included) a request or a websocket
    handshake is answered 503 `busy` and the connection closed.
A closed connection's waiting request sees a disconnect, as if the client had left.
"""

from __future__ import annotations

import asyncio
import os
import resource
import weakref
from dataclasses import replace
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.settings import EdgeLimits
from server.telemetry import CONNECTIONS_REFUSED, SLOW_CLIENTS_CLOSED

# File descriptors kept for everything but client connections (Redis, the ledger, logs).
RESERVED_FDS = 256


def fit_to_fd_limit(limits: EdgeLimits) -> EdgeLimits:
    """The cap lowered to what this process's file descriptors allow (after raising the soft
    limit to the hard one), so a refusal is a 503 and never a failed accept()."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return replace(limits, max_connections=max(1, min(limits.max_connections, soft - RESERVED_FDS)))


_BUSY_BODY = orjson.dumps(
    {"error": "busy", "message": "this gateway has too many connections; retry", "field": None}
)


async def _busy(scope: Scope, receive: Receive, send: Send) -> None:
    CONNECTIONS_REFUSED.inc()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_BUSY_BODY)).encode()),
        (b"connection", b"close"),
        (b"retry-after", b"1"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": _BUSY_BODY})


_BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    + b"content-length: %d\r\nconnection: close\r\nretry-after: 1\r\n\r\n" % len(_BUSY_BODY)
    + _BUSY_BODY
)


class _Deadlines:
    """The connections of one event loop that are waiting for a request's headers or body,
    swept twice a second: a float and a set entry per request, not a timer."""

    SWEEP_S = 0.5

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.waiting: set[GuardedHttpToolsProtocol] = set()
        loop.call_later(self.SWEEP_S, self._sweep)

    def _sweep(self) -> None:
        now = self._loop.time()
        for protocol in [p for p in self.waiting if p.due <= now]:
            protocol.too_slow()
        if not self._loop.is_closed():
            self._loop.call_later(self.SWEEP_S, self._sweep)


_DEADLINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Deadlines] = (
    weakref.WeakKeyDictionary()
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with deadlines for headers and bodies, and a cap on open connections."""

    limits: EdgeLimits | None = None  # from the environment, on the first connection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = type(self).limits
        if limits is None:
            limits = fit_to_fd_limit(EdgeLimits.from_env(os.environ))
            GuardedHttpToolsProtocol.limits = limits
        self._limits = limits
        deadlines = _DEADLINES.get(self.loop)
        if deadlines is None:
            deadlines = _DEADLINES[self.loop] = _Deadlines(self.loop)
        self._waiting = deadlines.waiting
        self.due = 0.0
        self._phase = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait(self._limits.header_timeout_s, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._waiting.discard(self)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self not in self._waiting:  # a kept-alive connection's next request
            self._wait(self._limits.header_timeout_s, "headers")

    def on_headers_complete(self) -> None:
        if len(self.connections) > self._limits.max_connections:
            self._waiting.discard(self)
            app, self.app = self.app, _busy
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()
        if self.parser is not None and not self.parser.should_upgrade():
            self._wait(self._limits.body_timeout_s, "body")
        else:
            self._waiting.discard(self)

    def on_message_complete(self) -> None:
        self._waiting.discard(self)
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._waiting.discard(self)
        if len(self.connections) > self._limits.max_connections:
            CONNECTIONS_REFUSED.inc()
            self.transport.write(_BUSY_RESPONSE)
            self.transport.close()
            return
        super().handle_websocket_upgrade()

    def _wait(self, seconds: float, phase: str) -> None:
        self.due = self.loop.time() + seconds
        self._phase = phase
        self._waiting.add(self)

    def too_slow(self) -> None:
        self._waiting.discard(self)
        if not self.transport.is_closing():
            SLOW_CLIENTS_CLOSED.labels(self._phase).inc()
            self.transport.close()


def guarded_protocol(limits: EdgeLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol with other limits, for a server run in this process (tests)."""
    return type("GuardedHttp", (GuardedHttpToolsProtocol,), {"limits": limits})
