"""Websocket frames encoded once and written straight to many connections.

One ASGI `send` per client per snapshot made the fan-out CPU-bound at a few thousand
clients. A server-to-client frame is not masked, so the bytes of a frame are the same for
every client: the hub serialises each snapshot once and writes those bytes to each
connection's transport, as the `websockets` library's own `broadcast` does. A connection
whose transport holds more unsent bytes than WRITE_BUFFER_LIMIT is skipped (it gets the
next, newer snapshot); one skipped DROP_AFTER_MISSED times in a row is closed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

from starlette.types import Send
from websockets.frames import Close, Frame, Opcode

WRITE_BUFFER_LIMIT = 64 * 1024  # unsent bytes past which a connection counts as behind
DROP_AFTER_MISSED = 100  # frames a connection may miss in a row before it is closed
CLOSE_GRACE_S = 2.0  # a dropped client has this long to take the close frame
TRY_AGAIN_LATER = 1013


def data_frame(payload: bytes, binary: bool) -> bytes:
    opcode = Opcode.BINARY if binary else Opcode.TEXT
    return Frame(opcode, payload).serialize(mask=False)


def close_frame(code: int, reason: str) -> bytes:
    return Frame(Opcode.CLOSE, Close(code, reason).serialize()).serialize(mask=False)


def _writable(transport: object) -> bool:
    """Duck-typed: uvloop's transports do not derive from asyncio's classes."""
    return all(hasattr(transport, name) for name in ("write", "get_write_buffer_size", "abort"))


@dataclass(eq=False, slots=True)
class Connection:
    """The sending side of one websocket connection, as the hub sees it."""

    transport: asyncio.WriteTransport
    missed: int = 0  # frames skipped in a row because the client was not reading

    @classmethod
    def of(cls, send: Send) -> Connection | None:
        """The connection behind uvicorn's `send` (a method of its protocol, which owns the
        transport); None under a server that hands out something else, or once Starlette's
        exception middleware has wrapped it."""
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        return cls(cast(asyncio.WriteTransport, transport)) if _writable(transport) else None

    def deliver(self, frame: bytes) -> bool:
        """Write the frame unless the client is behind; False once it is hopelessly so."""
        if self.transport.is_closing():
            return True  # gone: the connection's own task notices and unsubscribes
        if self.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            self.missed += 1
            return self.missed < DROP_AFTER_MISSED
        self.missed = 0
        self.transport.write(frame)
        return True

    def drop(self, reason: str, code: int = TRY_AGAIN_LATER) -> None:
        """Close (by default 1013, try again later); abort if even the close frame cannot
        go."""
        if self.transport.is_closing():
            return
        self.transport.write(close_frame(code, reason))
        self.transport.close()
        asyncio.get_running_loop().call_later(CLOSE_GRACE_S, self.transport.abort)


def forget_handshake(send: Send) -> bool:
    """Let go of what the opening handshake left in uvicorn's wsproto protocol: the h11
    connection that parsed the upgrade request, and that request with its headers. Once
    the connection is open wsproto reads and writes frames through its own connection
    object only, so a feed held all broadcast keeps ~1.3 KiB less (docs/performance.md).
    False, and nothing changed, where the protocol is not that one."""
    protocol = getattr(send, "__self__", None)
    handshake = getattr(getattr(protocol, "conn", None), "handshake", None)
    names = ("_connection", "_h11_connection", "_initiating_request")
    if handshake is None or not all(hasattr(handshake, name) for name in names):
        return False
    if handshake._connection is None:  # not open yet: the handshake still needs them
        return False
    handshake._h11_connection = None
    handshake._initiating_request = None
    return True
