"""POST /ops/clock: move campaign time, only when the clock is simulated."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.clock import Clock, ClockMovedBackwards, SimulatedClock, to_ms
from server.errors import BadInput, Conflict
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import ClockIn, ClockOut
from server.ops.audit import AUTOMATION


async def move_clock(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    raw = await read_body(request)
    body = parse_json(raw, ClockIn)
    if (body.advance_s is None) == (body.set is None):
        raise BadInput("give exactly one of advance_s and set", "advance_s")

    async def move() -> tuple[int, Any]:
        try:
            clock = await gw.runtime.move_clock(
                advance_ms=None if body.advance_s is None else int(body.advance_s * 1000),
                set_ms=None if body.set is None else to_ms(body.set),
                speed=body.speed,
            )
        except ClockMovedBackwards as exc:
            message = f"campaign time cannot go back: {exc}"
            raise Conflict(message, "set", "clock_backwards") from None
        await gw.audit.record(AUTOMATION, "clock.move", "clock", None, clock_view(clock))
        return 200, clock_view(clock)

    return await gw.idempotency.run(request, "clock", "ops", raw, move)


async def get_clock(request: Request) -> Response:
    clock = gateway(request).runtime.clock
    return JSONResponse(clock_view(clock))


def clock_view(clock: Clock) -> ClockOut:
    speed = clock.state.speed if isinstance(clock, SimulatedClock) else 1.0
    return {"now": clock.now().isoformat(), "simulated": clock.simulated, "speed": speed}


routes = [
    Route("/ops/clock", move_clock, methods=["POST"]),
    Route("/clock", get_clock, methods=["GET"]),
]
