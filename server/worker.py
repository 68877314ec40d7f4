"""`liveroom worker`: the ledger writer, the deadline sweeper, the warehouse router, the
notifier, the refund sender, the payment follower, payouts and the stream trimmer.

Each loop survives an outage of Redis or of the SQL database: it logs, backs off and
tries again; unacknowledged entries simply wait in the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.fulfilment.router import Router
from server.ledger.consumer import LedgerConsumer
from server.ledger.migrate import upgrade
from server.notify.channels import Channel, InboxOnly, Webhook
from server.notify.notifier import Notifier
from server.ops.audit import Audit
from server.ops.distribution import WorkerBooks
from server.payments.follower import PaymentFollower
from server.payments.payouter import Payouter, PayoutScheduler
from server.payments.refunder import Refunder
from server.payments.registry import providers
from server.runtime import Runtime
from server.store.connection import REDIS_OUTAGES
from server.store.identities import IdentityStore
from server.sweeper import Sweeper

log = logging.getLogger("liveroom.worker")

OUTAGES = (*REDIS_OUTAGES, OperationalError, DBAPIError, OSError)
SWEEP_INTERVAL_S = 0.1
TRIM_INTERVAL_S = 30.0
ROUTE_INTERVAL_S = 0.5
NOTIFY_INTERVAL_S = 0.5
REFUND_INTERVAL_S = 0.5
FOLLOW_INTERVAL_S = 1.0
PAYOUT_INTERVAL_S = 1.0


def default_worker_name() -> str:
    """Stable across restarts on one host, so a restarted worker re-reads its own pending."""
    return f"worker-{socket.gethostname()}"


class Worker:
    def __init__(
        self, runtime: Runtime, engine: AsyncEngine, name: str, claim_idle_ms: int = 60_000
    ) -> None:
        self._runtime = runtime
        self._engine = engine
        self.consumer = LedgerConsumer(
            runtime.redis,
            engine,
            runtime.settings.key_prefix,
            name,
            claim_idle_ms=claim_idle_ms,
            wait_for=runtime.replica_wait,
        )
        self.sweeper = Sweeper(runtime)
        self.router = Router(runtime, engine)
        self.applied = 0  # ledger entries this worker applied (the notifier reads facts anew)
        self.notifier = Notifier(runtime, engine, channel_for(runtime), name, lambda: self.applied)
        self.providers = providers(runtime.settings, runtime.redis, runtime.scripts)
        moves = lambda: self.applied  # noqa: E731 - read at each step
        self.refunder = Refunder(runtime, engine, self.providers.refunds(), name, moves)
        self.follower = PaymentFollower(runtime, engine, self.providers.followed())
        prefix = runtime.settings.key_prefix
        identities = IdentityStore(runtime.redis, runtime.scripts, prefix)
        transfers = self.providers.transfers()
        self.payouter = Payouter(runtime, engine, transfers, identities, name, moves)
        audit = Audit(runtime.redis, prefix)
        books = WorkerBooks(runtime, runtime.settings, identities, engine, audit)
        self.scheduler = PayoutScheduler(books)

    async def run(self, stop: asyncio.Event) -> None:
        await upgrade(self._engine)
        log.info("worker %s: ledger ready", self.consumer.name)
        loops = [
            asyncio.create_task(self._forever(stop, "ledger", self._consume, 0)),
            asyncio.create_task(self._forever(stop, "sweep", self.sweeper.sweep, SWEEP_INTERVAL_S)),
            asyncio.create_task(self._forever(stop, "route", self._route, ROUTE_INTERVAL_S)),
            asyncio.create_task(self._forever(stop, "trim", self._trim, TRIM_INTERVAL_S)),
            asyncio.create_task(
                self._forever(stop, "notify", self.notifier.step, NOTIFY_INTERVAL_S)
            ),
            asyncio.create_task(
                self._forever(stop, "refund", self.refunder.step, REFUND_INTERVAL_S)
            ),
            asyncio.create_task(
                self._forever(stop, "follow", self.follower.step, FOLLOW_INTERVAL_S)
            ),
            asyncio.create_task(self._forever(stop, "payout", self._payouts, PAYOUT_INTERVAL_S)),
        ]
        await stop.wait()
        for task in loops:  # each loop checks `stop` between rounds: let the round finish
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), timeout=5)
        for task in loops:
            task.cancel()
        await self.notifier.channel.close()
        await self.providers.close()

    async def _consume(self) -> int:
        applied = await self.consumer.consume(self._runtime.keyspaces(), block_ms=200)
        self.applied += applied
        return applied

    async def _payouts(self) -> int:
        return await self.scheduler.step() + await self.payouter.step()

    async def _route(self) -> int:
        return await self.router.route_due()

    async def _trim(self) -> None:
        await self.consumer.trim(self._runtime.keyspaces())

    async def _forever(
        self, stop: asyncio.Event, name: str, step: Callable[[], Awaitable[object]], pause: float
    ) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                await step()
                backoff = 0.2
            except OUTAGES as exc:
                log.warning("%s: %s; retrying in %.1fs", name, exc.__class__.__name__, backoff)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if pause:
                await _sleep_or_stop(stop, pause)


def channel_for(runtime: Runtime) -> Channel:
    """The outbound webhook when one is configured; otherwise the inbox and live room only."""
    settings = runtime.settings
    if settings.notify_url:
        return Webhook(settings.notify_url, settings.notify_secret)
    return InboxOnly()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
