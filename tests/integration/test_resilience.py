"""Script cache loss, a Redis outage, and an embedded Valkey restart."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from redis.asyncio import Redis

from server.embedded import EmbeddedValkey
from tests.campaigns import campaign_text, write_campaign
from tests.conftest import TIME_FACTOR, make_settings
from tests.integration.conftest import PRESALE_OPEN, Serve
from tests.server_harness import run_server

ORDERS = "/api/v1/campaigns/mid-autumn/orders"


async def test_orders_still_work_after_script_flush(serve: Serve, redis: Redis) -> None:
    async with serve() as s:
        h = await s.login("alice")
        assert (
            await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        ).status_code == 201
        await redis.script_flush()
        r = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert r.status_code == 201, r.text
        assert (await s.stock())["pools"]["presale"]["reserved"] == 2


async def test_outage_answers_503_quickly_and_changes_nothing(
    tmp_path: Path, key_prefix: str
) -> None:
    valkey = EmbeddedValkey(tmp_path)
    valkey.start()
    port = valkey.port
    settings = make_settings(
        key_prefix,
        campaign_file=write_campaign(tmp_path, campaign_text(100, 0, 0)),
        clock_start=datetime.fromisoformat(PRESALE_OPEN),
    )
    try:
        async with run_server(settings, valkey.url) as s:
            h = await s.login("alice")
            assert (
                await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
            ).status_code == 201
            valkey.stop()
            started = time.monotonic()
            r = await s.client.post(
                ORDERS,
                json={"mode": "presale", "qty": 1},
                headers={**h, "Idempotency-Key": "retry-me"},
            )
            assert r.status_code == 503 and r.json()["error"] == "unavailable"
            assert time.monotonic() - started < 3 * TIME_FACTOR
            assert (await s.client.get("/api/v1/campaigns/mid-autumn/stock")).status_code == 503
            not_ready = await s.client.get("/readyz")
            assert not_ready.status_code == 503
            assert str(port) not in not_ready.text and "127.0.0.1" not in not_ready.text

            valkey = EmbeddedValkey(tmp_path, port=port)
            valkey.start()
            await asyncio.sleep(0.3)
            assert (await s.client.get("/readyz")).status_code == 200
            stock = await s.stock()
            assert stock["pools"]["presale"]["reserved"] == 1  # the refused order left no trace
            r = await s.client.post(
                ORDERS,
                json={"mode": "presale", "qty": 1},
                headers={**h, "Idempotency-Key": "retry-me"},
            )
            assert r.status_code == 201
            assert (await s.stock())["pools"]["presale"]["reserved"] == 2
    finally:
        valkey.stop()


async def test_embedded_valkey_keeps_state_across_a_restart(
    tmp_path: Path, key_prefix: str
) -> None:
    settings = make_settings(
        key_prefix,
        campaign_file=write_campaign(tmp_path, campaign_text(100, 0, 0)),
        clock_start=datetime.fromisoformat(PRESALE_OPEN),
    )
    valkey = EmbeddedValkey(tmp_path)
    valkey.start()
    try:
        async with run_server(settings, valkey.url) as s:
            h = await s.login("alice")
            order = (
                await s.client.post(ORDERS, json={"mode": "presale", "qty": 3}, headers=h)
            ).json()
            before = await s.stock()
        valkey.stop()  # SIGTERM: Valkey syncs its append-only file before it exits

        valkey = EmbeddedValkey(tmp_path)
        valkey.start()
        async with run_server(settings, valkey.url) as s:
            assert await s.stock() == before
            h = await s.login("alice")
            again = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
            assert again.json()["order_id"] != order["order_id"]
    finally:
        valkey.stop()
