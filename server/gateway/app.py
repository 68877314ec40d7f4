"""The Starlette application: routes under /api/v1, errors in one shape, a lifespan
that opens Redis and starts the runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server.console.accounts import Accounts
from server.console.routes import routes as console_routes
from server.console.sessions import Sessions
from server.feeds.hub import Hubs
from server.gateway import (
    routes_addresses,
    routes_after_sale,
    routes_broadcast,
    routes_campaigns,
    routes_distribution,
    routes_fulfilment,
    routes_groups,
    routes_health,
    routes_inbox,
    routes_materials,
    routes_me,
    routes_members,
    routes_metrics,
    routes_notices,
    routes_ops,
    routes_ops_orders,
    routes_orders,
    routes_payees,
    routes_payments,
    routes_quotes,
    routes_screens,
    routes_sessions,
    routes_share,
    routes_shipping,
    routes_visits,
)
from server.gateway.auth import ViewerTokens
from server.gateway.context import Gateway
from server.gateway.host_login import HostAssertions
from server.gateway.http import EXCEPTION_HANDLERS, JSONResponse
from server.gateway.idempotency import IdempotencyStore
from server.gateway.lanes import GatewayApp
from server.gateway.openapi import openapi_document
from server.gateway.page_headers import PageHeaders
from server.gateway.rate_limits import RateLimits
from server.gateway.request_metrics import RequestMetrics
from server.gateway.screen_tokens import ScreenTokens
from server.growth.library import Library
from server.growth.media import media_store
from server.heap import settle_after_start_up
from server.ledger.engine import create_engine, ledger_url
from server.ledger.migrate import upgrade
from server.ledger.reconcile import reconcile
from server.ops.audit import Audit
from server.pages import viewer as viewer_pages
from server.pages.bigscreen import routes as big_screen_routes
from server.pages.templates import pages_dir
from server.payments.registry import alipay, wechat_pay
from server.runtime import Runtime
from server.settings import Settings
from server.store.connection import connect
from server.store.identities import IdentityStore
from server.store.screens import ScreenStore
from server.worker import Worker, default_worker_name

log = logging.getLogger("liveroom.gateway")


async def _to_big_screen(request: Request) -> Response:
    query = request.url.query
    return RedirectResponse("/dashboard/" + (f"?{query}" if query else ""))


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


@contextlib.asynccontextmanager
async def _worker_alongside(
    runtime: Runtime, ledger: AsyncEngine, settings: Settings
) -> AsyncIterator[Worker]:
    """The demo's single process: the ledger worker runs beside the gateway."""
    await upgrade(ledger)  # before start-up completes: no request may find the ledger empty
    worker = Worker(runtime, ledger, settings.worker_name or default_worker_name())
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="embedded-worker")
    try:
        yield worker
    finally:
        stop.set()
        await task
        await _reconcile_at_end(runtime, ledger)


async def _reconcile_at_end(runtime: Runtime, ledger: AsyncEngine) -> None:
    """The demo ends by proving the books: Redis = ledger + unconsumed entries, every cent."""
    for live in runtime.campaigns.values():
        report = await reconcile(runtime.redis, ledger, live.stock.spaces)
        log.info("reconcile %s", report.summary())
        for problem in report.problems:
            log.error("reconcile MISMATCH %s", problem)


def create_app(settings: Settings, redis_url: str, *, settle_heap: bool = False) -> GatewayApp:
    """The gateway app; settle_heap tunes the garbage collector once started (a served
    process only: tests run many apps in one process)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = connect(redis_url, settings.redis_timeout_s)
        runtime = Runtime(settings, redis)
        ledger = create_engine(ledger_url(settings.database_url, settings.data_dir))
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(redis.aclose)
            stack.push_async_callback(ledger.dispose)
            await runtime.start()
            stack.push_async_callback(runtime.stop)
            screens = ScreenStore(redis, settings.key_prefix)
            identities = IdentityStore(redis, runtime.scripts, settings.key_prefix)
            app.state.gateway = Gateway(
                settings=settings,
                runtime=runtime,
                tokens=ViewerTokens(settings.secret, settings.token_ttl_s),
                idempotency=IdempotencyStore(redis, settings.key_prefix),
                ledger=ledger,
                identities=identities,
                hubs=Hubs(runtime, screens.revoked, identities.screen_labels),
                screen_tokens=ScreenTokens(settings.secret),
                screens=screens,
                rate_limits=RateLimits(settings.rate_limits),
                host_assertions=HostAssertions(settings.host_login),
                audit=Audit(redis, settings.key_prefix),
                accounts=Accounts(ledger),
                sessions=Sessions(redis, settings.key_prefix),
                library=Library(ledger),
                media=media_store(settings),
                wechatpay=wechat_pay(settings),
                alipay=alipay(settings),
            )
            stack.push_async_callback(app.state.gateway.hubs.stop)
            if app.state.gateway.wechatpay is not None:
                stack.push_async_callback(app.state.gateway.wechatpay.close)
            if settings.embedded_worker:
                await stack.enter_async_context(_worker_alongside(runtime, ledger, settings))
            if settle_heap:
                settle_after_start_up()
            yield

    api = [
        *routes_sessions.routes,
        *routes_campaigns.routes,
        *routes_orders.routes,
        *routes_payments.routes,
        *routes_me.routes,
        *routes_addresses.routes,
        *routes_fulfilment.routes,
        *routes_shipping.routes,
        *routes_after_sale.routes,
        *routes_inbox.routes,
        *routes_notices.routes,
        *routes_visits.routes,
        *routes_materials.routes,
        *routes_groups.routes,
        *routes_quotes.routes,
        *routes_share.routes,
        *routes_distribution.routes,
        *routes_payees.routes,
        *routes_members.routes,
        *routes_broadcast.routes,
        *routes_ops.routes,
        *routes_ops_orders.routes,
        *routes_screens.routes,
    ]
    return GatewayApp(  # the live feeds and the order POSTs served before everything
        routes=[
            Mount("/api/v1", routes=api),
            Route("/openapi.json", openapi),
            *routes_health.routes,
            *routes_metrics.routes,
            Route("/", _to_big_screen),
            *viewer_pages.routes,
            *console_routes,
            *big_screen_routes,  # /dashboard/ itself; its script and styles are files
            Mount("/dashboard", StaticFiles(directory=pages_dir(), html=True)),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            *([Middleware(RequestMetrics)] if settings.request_metrics else []),
            Middleware(PageHeaders),  # what pages are sent with
        ],
        lifespan=lifespan,
    )
