"""The ledger survives crashes: a worker killed with SIGKILL mid-stream, a batch committed
but never acknowledged, the SQL database gone for a while, Valkey killed with SIGKILL.
Each ends with every order in the ledger exactly once and a clean reconcile."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.pools import plan_for
from server.embedded import EmbeddedValkey
from server.ledger.apply import apply_entries
from server.ledger.consumer import LedgerConsumer
from server.ledger.reconcile import reconcile
from server.ledger.schema import order_events, orders
from server.runtime import Runtime
from server.store.connection import connect
from server.store.keys import CampaignKeys
from server.store.stock import OrderRequest
from tests.campaigns import campaign_text, write_campaign
from tests.conftest import (
    OPS_TOKEN,
    PAYMENT_SECRET,
    SECRET,
    TIME_FACTOR,
    make_settings,
    stream_entries,
)
from tests.integration.conftest import PRESALE_OPEN
from tests.server_harness import eventually

TOTAL_UNITS = 20_000


@contextlib.asynccontextmanager
async def campaign_runtime(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> AsyncIterator[Runtime]:
    settings = make_settings(
        key_prefix,
        campaign_file=write_campaign(tmp_path, campaign_text(TOTAL_UNITS, 0, 0)),
        clock_start=datetime.fromisoformat(PRESALE_OPEN),
    )
    redis = connect(redis_url, timeout_s=10)
    runtime = Runtime(settings, redis)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
        await redis.aclose()


async def place_orders(runtime: Runtime, count: int, tag: str) -> list[str]:
    live = runtime.live("mid-autumn")
    plan = plan_for(live.campaign, "direct")
    ids: list[str] = []
    for start in range(0, count, 100):
        requests = [
            OrderRequest(f"{tag}{i}", "direct", 1, 10, plan, 36800, 10**15)
            for i in range(start, min(count, start + 100))
        ]
        outcomes = await live.stock.reserve(runtime.clock.now_ms(), requests)
        ids += [o.order["id"] for o in outcomes if o.order is not None]
    return ids


async def count_rows(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def assert_ledger_complete(
    runtime: Runtime, engine: AsyncEngine, expected_orders: int
) -> None:
    keys = CampaignKeys(runtime.settings.key_prefix, "mid-autumn")
    report = await eventually(
        lambda: reconcile(runtime.redis, engine, keys), lambda r: r.unconsumed == 0, seconds=60
    )
    assert report.problems == [], report.problems[:10]
    assert report.orders == expected_orders
    assert await count_rows(engine, orders) == expected_orders
    # The worker trims acknowledged entries, so compare with every entry ever added.
    added = (await runtime.redis.xinfo_stream(keys.stream))["entries-added"]
    assert await count_rows(engine, order_events) == added


@contextlib.contextmanager
def worker_process(
    redis_url: str,
    ledger: str,
    key_prefix: str,
    tmp_path: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": ledger,
        "LIVEROOM_KEY_PREFIX": key_prefix,
        "LIVEROOM_DATA_DIR": str(tmp_path),
        "LIVEROOM_CAMPAIGN": str(tmp_path / "campaign.toml"),
        "LIVEROOM_CLOCK": "simulated",
        "LIVEROOM_OPS_TOKEN": OPS_TOKEN,
        "LIVEROOM_SECRET": SECRET,
        "LIVEROOM_PAYMENT_SECRET": PAYMENT_SECRET,
        "LIVEROOM_WORKER_NAME": "crash-test",
        "LIVEROOM_REFUND_SANDBOX": "1",
        **(extra_env or {}),
    }
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "worker"], env=env, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10 * TIME_FACTOR)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


async def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    ledger_url: str,
    ledger_engine: AsyncEngine,
) -> None:
    async with campaign_runtime(redis_url, key_prefix, tmp_path) as runtime:
        placed = await place_orders(runtime, 10_000, "k")
        with worker_process(redis_url, ledger_url, key_prefix, tmp_path) as worker:
            await eventually(lambda: count_rows(ledger_engine, order_events), lambda n: n > 0, 30)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        written = await count_rows(ledger_engine, order_events)
        assert 0 < written < len(placed), "the kill should land while entries remain"
        placed += await place_orders(runtime, 500, "after")
        with worker_process(redis_url, ledger_url, key_prefix, tmp_path):
            await assert_ledger_complete(runtime, ledger_engine, len(placed))


async def test_batch_committed_but_not_acknowledged_is_not_applied_twice(
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    ledger_engine: AsyncEngine,
) -> None:
    async with campaign_runtime(redis_url, key_prefix, tmp_path) as runtime:
        await place_orders(runtime, 50, "r")
        entries = await stream_entries(redis, key_prefix)
        for _ in range(2):  # the crash: committed, then killed before XACK, then redelivered
            async with ledger_engine.begin() as conn:
                applied = await apply_entries(conn, "mid-autumn", entries)
        assert applied == 0
        consumer = LedgerConsumer(redis, ledger_engine, key_prefix, "redelivery")
        assert (
            await consumer.consume(["mid-autumn"], block_ms=10) == 50
        )  # delivered, skipped, acked
        await assert_ledger_complete(runtime, ledger_engine, 50)


class Outage:
    """A TCP proxy in front of PostgreSQL that can drop every connection and refuse new ones."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def stop(self) -> None:
        if self._server is not None and self._server.is_serving():
            await self.cut()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            await _close(writer)
            return
        self._writers.add(up_writer)

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            await _close(dst)

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._writers -= {writer, up_writer}


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


async def test_database_outage_backs_up_then_catches_up(
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    ledger_url: str,
    ledger_engine: AsyncEngine,
) -> None:
    url = make_url(ledger_url)
    proxy = Outage(url.port or 5432)
    worker_url = ledger_url
    if url.drivername.startswith("postgresql"):
        await proxy.start()
        worker_url = url.set(port=proxy.port).render_as_string(hide_password=False)
    async with campaign_runtime(redis_url, key_prefix, tmp_path) as runtime:
        keys = CampaignKeys(key_prefix, "mid-autumn")
        placed = await place_orders(runtime, 100, "before")
        with worker_process(redis_url, worker_url, key_prefix, tmp_path):
            await assert_ledger_complete(runtime, ledger_engine, len(placed))
            lock = None
            if url.drivername.startswith("postgresql"):
                await proxy.cut()
            else:
                lock = sqlite3.connect(url.database or "", timeout=30, check_same_thread=False)
                await asyncio.to_thread(lock.execute, "BEGIN EXCLUSIVE")
            placed += await place_orders(runtime, 300, "during")
            await asyncio.sleep(1.5 * TIME_FACTOR)
            report = await reconcile(redis, ledger_engine, keys) if lock is None else None
            assert report is None or report.unconsumed >= 300  # backed up in the stream
            assert (await redis.xinfo_stream(keys.stream))["entries-added"] == len(placed)
            if lock is not None:
                lock.rollback()
                lock.close()
            else:
                await proxy.start()
            await assert_ledger_complete(runtime, ledger_engine, len(placed))
    await proxy.stop()


async def test_valkey_killed_keeps_every_accepted_order(tmp_path: Path, key_prefix: str) -> None:
    valkey = EmbeddedValkey(tmp_path)
    valkey.start()
    try:
        async with campaign_runtime(valkey.url, key_prefix, tmp_path) as runtime:
            placed = await place_orders(runtime, 300, "v")
            before = await runtime.live("mid-autumn").stock.pools()
        valkey.kill()  # SIGKILL: no shutdown, no final fsync
        valkey = EmbeddedValkey(tmp_path)
        valkey.start()
        async with campaign_runtime(valkey.url, key_prefix, tmp_path) as runtime:
            live = runtime.live("mid-autumn")
            assert await live.stock.pools() == before
            assert await live.stock.buckets[0].last_order_number() == len(placed)
    finally:
        valkey.stop()
