"""The Starlette application: routes under /api/v1, errors in one shape, a lifespan
that opens Redis and starts the runtime."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from server.gateway import (
    routes_campaigns,
    routes_health,
    routes_ops,
    routes_orders,
    routes_sessions,
)
from server.gateway.auth import ViewerTokens
from server.gateway.context import Gateway
from server.gateway.http import EXCEPTION_HANDLERS, JSONResponse
from server.gateway.idempotency import IdempotencyStore
from server.gateway.openapi import openapi_document
from server.runtime import Runtime
from server.settings import Settings
from server.store.connection import connect


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def create_app(settings: Settings, redis_url: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = connect(redis_url, settings.redis_timeout_s)
        runtime = Runtime(settings, redis)
        try:
            await runtime.start()
            app.state.gateway = Gateway(
                settings=settings,
                runtime=runtime,
                tokens=ViewerTokens(settings.secret, settings.token_ttl_s),
                idempotency=IdempotencyStore(redis, settings.key_prefix),
            )
            yield
        finally:
            await runtime.stop()
            await redis.aclose()

    api = [
        *routes_sessions.routes,
        *routes_campaigns.routes,
        *routes_orders.routes,
        *routes_ops.routes,
    ]
    return Starlette(
        routes=[
            Mount("/api/v1", routes=api),
            Route("/openapi.json", openapi),
            *routes_health.routes,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
