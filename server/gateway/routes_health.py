"""Liveness (the process answers) and readiness (Redis answers). Neither says where
anything lives: a probe's answer is public."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.gateway.context import gateway
from server.gateway.http import JSONResponse, error_body
from server.store.connection import REDIS_OUTAGES

log = logging.getLogger("liveroom.gateway")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await gateway(request).runtime.redis.ping()
    except (*REDIS_OUTAGES, OSError) as exc:
        log.warning("not ready: redis: %s", exc)
        body = error_body("unavailable", "the stock service is not answering", None)
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready"})


routes = [Route("/healthz", healthz), Route("/readyz", readyz)]
