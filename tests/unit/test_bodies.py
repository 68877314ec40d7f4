"""Bodies read in pieces: the limit counted as they arrive, and a cap on how many a process
assembles at once (the memory bodies may take is bounded by it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from starlette.datastructures import Headers

from server.errors import BadInput, Unavailable
from server.gateway.bodies import BodyGate, ClientLeft, TooLarge, read_limited

Message = dict[str, Any]


def pieces(*parts: bytes, disconnect: bool = False) -> Callable[[], Coroutine[Any, Any, Message]]:
    """An ASGI receive that hands out the body in these pieces (then blocks, or leaves)."""
    queue: list[Message] = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1 or disconnect}
        for i, part in enumerate(parts)
    ]
    if disconnect:
        queue.append({"type": "http.disconnect"})

    async def receive() -> Message:
        if not queue:
            await asyncio.Event().wait()
        return queue.pop(0)

    return receive


async def test_one_piece_is_read_without_the_gate() -> None:
    gate = BodyGate(max_assembling=0)  # no room at all: a one-piece body never needs it
    assert await read_limited(pieces(b'{"a": 1}'), Headers(), gate, 64) == b'{"a": 1}'


async def test_pieces_are_joined_and_counted() -> None:
    gate = BodyGate(max_assembling=1)
    assert await read_limited(pieces(b"ab", b"cd", b"ef"), Headers(), gate, 6) == b"abcdef"
    assert gate.assembling == 0
    with pytest.raises(TooLarge):
        await read_limited(pieces(b"ab", b"cd", b"efg"), Headers(), gate, 6)
    assert gate.assembling == 0


async def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    never = pieces()  # receive would block forever: it must not be called
    with pytest.raises(TooLarge):
        await read_limited(never, Headers({"content-length": "65"}), BodyGate(), 64)
    with pytest.raises(BadInput):
        await read_limited(never, Headers({"content-length": "-5"}), BodyGate(), 64)


async def test_a_client_leaving_mid_body() -> None:
    gate = BodyGate()
    with pytest.raises(ClientLeft):
        await read_limited(pieces(b"ab", disconnect=True), Headers(), gate, 64)
    assert gate.assembling == 0


async def test_the_gate_caps_bodies_assembled_at_once() -> None:
    gate = BodyGate(max_assembling=2)
    slow = [asyncio.create_task(read_limited(_stalled(), Headers(), gate, 64)) for _ in range(2)]
    await asyncio.sleep(0)
    assert gate.assembling == 2
    with pytest.raises(Unavailable):
        await read_limited(pieces(b"x", b"y"), Headers(), gate, 64)
    for task in slow:
        task.cancel()
    await asyncio.gather(*slow, return_exceptions=True)
    assert gate.assembling == 0


def _stalled() -> Callable[[], Coroutine[Any, Any, Message]]:
    """A body whose first piece came and whose second never does."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": b"first", "more_body": True}

    return receive
