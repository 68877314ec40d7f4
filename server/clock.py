"""Campaign time: the one clock every rule reads, real or simulated.

A simulated clock is an anchor (campaign time at a real instant) and a speed, so a
15-day campaign can run in minutes. Its state lives in Redis (see store/clock_state.py)
so every gateway and worker process reads the same time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class Clock(Protocol):
    simulated: bool

    def now_ms(self) -> int: ...

    def now(self) -> datetime: ...


class RealClock:
    simulated = False

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def now(self) -> datetime:
        return from_ms(self.now_ms())


class ClockMovedBackwards(ValueError):
    pass


@dataclass(frozen=True)
class SimulatedState:
    """Campaign time `anchor_ms` at real time `real_anchor_ms`, running `speed` times real."""

    anchor_ms: int
    real_anchor_ms: int
    speed: float = 1.0

    def at(self, real_ms: int) -> int:
        return self.anchor_ms + int((real_ms - self.real_anchor_ms) * self.speed)

    def moved(
        self,
        real_ms: int,
        *,
        advance_ms: int | None = None,
        set_ms: int | None = None,
        speed: float | None = None,
    ) -> SimulatedState:
        """A new anchor at real_ms; refuses to go back (deadlines already passed stay passed)."""
        current = self.at(real_ms)
        target = current
        if advance_ms is not None:
            target = current + advance_ms
        if set_ms is not None:
            target = set_ms
        if target < current:
            raise ClockMovedBackwards(f"campaign time is already {from_ms(current).isoformat()}")
        return replace(
            self,
            anchor_ms=target,
            real_anchor_ms=real_ms,
            speed=self.speed if speed is None else speed,
        )


class SimulatedClock:
    """Reads campaign time from a state that the owner replaces when Redis says it moved."""

    simulated = True

    def __init__(self, state: SimulatedState) -> None:
        self.state = state

    def now_ms(self) -> int:
        return self.state.at(int(time.time() * 1000))

    def now(self) -> datetime:
        return from_ms(self.now_ms())
