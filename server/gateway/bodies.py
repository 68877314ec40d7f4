"""Request bodies, read with a limit that holds while they stream.

A body whose Content-Length passes its limit is refused before a byte of it is read; one
sent in chunks is counted as it arrives and refused the moment it passes. A body that
arrives in one piece (every order of the 开抢 spike) costs nothing more. Bodies that take
several pieces are held across awaits while they come in, so a process assembles at most
`max_assembling` of them at once and answers 503 past that: what bodies can take of a
process's memory is bounded by max_assembling × the largest limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import Receive

from server.errors import BadInput, LiveroomError, Unavailable
from server.telemetry import BODIES_TOO_LARGE

MAX_BODY_BYTES = 64 * 1024
MAX_ASSEMBLING = 256


class TooLarge(LiveroomError):
    status = 413
    code = "too_large"
    # The rest of the body is not worth reading: the connection closes after the answer.
    headers = {"connection": "close"}

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes", None)
        BODIES_TOO_LARGE.inc()


class ClientLeft(Exception):
    """The client went away before its whole body arrived: nobody is left to answer."""


@dataclass
class BodyGate:
    """How many bodies this process is assembling from several pieces right now."""

    max_assembling: int = MAX_ASSEMBLING
    assembling: int = 0

    def enter(self) -> None:
        if self.assembling >= self.max_assembling:
            raise Unavailable("too many requests are uploading at once; retry", None, "busy")
        self.assembling += 1

    def leave(self) -> None:
        self.assembling -= 1


def declared_length(headers: Headers, limit: int) -> int | None:
    """The Content-Length, refused at once when it passes the limit."""
    value = headers.get("content-length")
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise BadInput("Content-Length must be a number of bytes", "Content-Length")
    length = int(value)
    if length > limit:
        raise TooLarge(limit)
    return length


async def read_limited(receive: Receive, headers: Headers, gate: BodyGate, limit: int) -> bytes:
    """The whole body, never more than `limit` bytes of it; raises ClientLeft when the
    client disconnects first."""
    declared_length(headers, limit)
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientLeft
    body: bytes = message.get("body", b"")
    if len(body) > limit:
        raise TooLarge(limit)
    if not message.get("more_body", False):
        return body
    gate.enter()
    try:
        return await _assemble(receive, [body], len(body), limit)
    finally:
        gate.leave()


async def _assemble(receive: Receive, chunks: list[bytes], size: int, limit: int) -> bytes:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientLeft
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
