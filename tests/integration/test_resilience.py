"""Script cache loss, a Redis outage, a Redis answer too late, and an embedded Valkey restart."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.embedded import EmbeddedValkey
from server.store.keys import CampaignKeys
from tests.campaigns import campaign_text, write_campaign
from tests.conftest import TIME_FACTOR, make_settings
from tests.integration.conftest import PRESALE_OPEN, Serve
from tests.integration.test_redis_client import SLOW_COUNT
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


# Standalone only: on a cluster the order's first read (the buyer's facts, a pipeline of
# reads the client may send again) waits the hold out, so the order never answers late.
@pytest.mark.parametrize("redis_url", ["valkey", "redis"], indirect=True)
async def test_an_order_answered_too_late_is_503_outcome_unknown_and_its_retry_finds_it(
    tmp_path: Path, redis_url: str, redis: Redis, key_prefix: str
) -> None:
    settings = make_settings(
        key_prefix,
        campaign_file=write_campaign(tmp_path, campaign_text(100, 0, 0)),
        clock_start=datetime.fromisoformat(PRESALE_OPEN),
        redis_timeout_s=0.3,
    )
    async with run_server(settings, redis_url) as s:
        h = {**await s.login("alice"), "Idempotency-Key": "tap-1"}
        await s.stock()  # the gateway has its connections and scripts
        # The campaign's shard is held for 1 s: the order's script waits behind it
        held = CampaignKeys(key_prefix, "mid-autumn").meta + ":held"  # the campaign's slot
        busy = asyncio.ensure_future(redis.eval(SLOW_COUNT, 1, held, 1000))
        await asyncio.sleep(0.1)
        late = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert late.status_code == 503 and late.json()["error"] == "outcome_unknown", late.text
        await busy
        # The server may have placed it once the shard was free, or dropped it with the
        # closed connection: the retry under the same key answers it either way, once
        again = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert again.status_code == 201, again.text
        assert list(await s.my_orders(h)) == [again.json()["order_id"]]
        assert (await s.stock())["pools"]["presale"]["reserved"] == 1
