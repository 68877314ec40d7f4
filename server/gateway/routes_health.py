"""Liveness (the process answers) and readiness (Redis answers)."""

from __future__ import annotations

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.gateway.context import gateway
from server.gateway.http import JSONResponse, error_body


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await gateway(request).runtime.redis.ping()
    except (RedisError, OSError) as exc:
        return JSONResponse(error_body("unavailable", f"redis: {exc}", None), status_code=503)
    return JSONResponse({"status": "ready"})


routes = [Route("/healthz", healthz), Route("/readyz", readyz)]
