"""The simulated clock's state in Redis: one JSON value, moved with an optimistic transaction."""

from __future__ import annotations

import time

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from server.clock import SimulatedState


def _real_ms() -> int:
    return int(time.time() * 1000)


class ClockStore:
    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key

    async def load(self) -> SimulatedState | None:
        raw = await self._redis.get(self._key)
        return None if raw is None else _decode(raw)

    async def start(self, anchor_ms: int, speed: float) -> SimulatedState:
        """Start the clock at anchor_ms unless another process already did."""
        state = SimulatedState(anchor_ms, _real_ms(), speed)
        if await self._redis.set(self._key, _encode(state), nx=True):
            return state
        loaded = await self.load()
        assert loaded is not None
        return loaded

    async def move(
        self, *, advance_ms: int | None, set_ms: int | None, speed: float | None
    ) -> SimulatedState:
        """Move campaign time; raises ClockMovedBackwards without changing anything."""
        moved: list[SimulatedState] = []

        async def _apply(pipe: Pipeline) -> None:
            raw = await pipe.get(self._key)
            current = SimulatedState(_real_ms(), _real_ms()) if raw is None else _decode(raw)
            new = current.moved(_real_ms(), advance_ms=advance_ms, set_ms=set_ms, speed=speed)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.set(self._key, _encode(new))
            moved.append(new)

        await self._redis.transaction(_apply, self._key)
        return moved[-1]


def _encode(state: SimulatedState) -> bytes:
    return orjson.dumps(
        {"anchor_ms": state.anchor_ms, "real_anchor_ms": state.real_anchor_ms, "speed": state.speed}
    )


def _decode(raw: bytes | str) -> SimulatedState:
    data = orjson.loads(raw)
    return SimulatedState(int(data["anchor_ms"]), int(data["real_anchor_ms"]), float(data["speed"]))
