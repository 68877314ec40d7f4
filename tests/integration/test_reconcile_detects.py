"""Reconcile must fail loudly: tampered pools, a lost order, a cent out of place."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
from redis.asyncio import Redis

from server.ledger.engine import create_engine
from server.ledger.schema import refund_sends
from tests.integration.conftest import Serve
from tests.integration.test_refunds_sent import sends
from tests.server_harness import eventually


async def test_reconcile_names_every_mismatch(
    serve_with_ledger: Serve, redis: Redis, key_prefix: str, redis_url: str, ledger_url: str
) -> None:
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        paid = await s.order(alice, mode="direct", qty=2)
        await s.pay(alice, paid["order_id"])
        unpaid = await s.order(alice, mode="presale", qty=1)
        assert (await s.reconcile()).problems == []

        tag = f"{key_prefix}:{{mid-autumn}}"
        await redis.hincrby(f"{tag}:pools", "distribution.remaining", 1)  # a unit from nowhere
        order = orjson.loads(await redis.hget(f"{tag}:orders", paid["order_id"]) or b"{}")
        order["paid_fen"] += 1  # a cent out of place
        await redis.hset(f"{tag}:orders", paid["order_id"], orjson.dumps(order))
        await redis.hdel(f"{tag}:orders", unpaid["order_id"])  # an order lost from Redis

        problems = "\n".join((await s.reconcile()).problems)
        assert "units lost" in problems
        assert f"order {paid['order_id']}: paid_fen is 73601 in Redis, 73600" in problems
        assert f"order {unpaid['order_id']}: in the ledger but not in Redis" in problems

        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "DATABASE_URL": ledger_url,
            "LIVEROOM_KEY_PREFIX": key_prefix,
        }
        cli = subprocess.run(
            [sys.executable, "-m", "server", "reconcile"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 1, cli.stdout + cli.stderr
        assert "MISMATCH" in cli.stdout and "units lost" in cli.stdout


async def test_reconcile_is_clean_once_the_worker_trimmed_the_stream_to_nothing(
    serve_with_ledger: Serve, redis: Redis, key_prefix: str
) -> None:
    """Found by the 开抢 rehearsal: with every entry in the ledger and the stream trimmed
    empty, the ledger's events still count (and a tampered pool is still caught)."""
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        paid = await s.order(alice, mode="direct", qty=2)
        await s.pay(alice, paid["order_id"])
        await s.order(alice, mode="presale", qty=1)
        await s.ledger_caught_up()
        stream = f"{key_prefix}:{{mid-autumn}}:stream"
        await redis.xtrim(stream, maxlen=0)  # what the worker's trim does once all is acked
        assert await redis.xlen(stream) == 0
        assert (await s.reconcile()).problems == []

        await redis.hincrby(f"{key_prefix}:{{mid-autumn}}:pools", "distribution.remaining", 1)
        assert any("units lost" in p for p in (await s.reconcile()).problems)


async def test_reconcile_catches_a_warehouse_unit_out_of_place(
    serve_with_ledger: Serve, redis: Redis, key_prefix: str
) -> None:
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        paid = await s.order(alice, mode="direct", qty=2)
        await s.pay(alice, paid["order_id"])
        await s.ship_to(alice, paid["order_id"])
        assert (await s.reconcile()).problems == []

        tag = f"{key_prefix}:{{mid-autumn}}"
        await redis.hincrby(f"{tag}:warehouses", "guangzhou.free", -1)  # a box gone missing
        order = orjson.loads(await redis.hget(f"{tag}:orders", paid["order_id"]) or b"{}")
        order["route"] = [["shanghai", 1]]  # a route short of the order
        await redis.hset(f"{tag}:orders", paid["order_id"], orjson.dumps(order))

        problems = "\n".join((await s.reconcile()).problems)
        assert "warehouse guangzhou: allocated 1, shipped 0 in Redis; 0 and 0" in problems
        assert f"order {paid['order_id']}: route is [['shanghai', 1]] in Redis" in problems


async def test_reconcile_catches_a_refund_sent_back_past_its_payment(
    serve_with_ledger: Serve, ledger_url: str
) -> None:
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="direct", qty=1)
        payment = await s.pay(alice, order["order_id"])
        r = await s.client.post(
            f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        engine = create_engine(ledger_url)
        try:
            [sent] = await eventually(
                lambda: sends(engine),
                lambda found: len(found) == 1 and found[0]["state"] == "succeeded",
            )
            assert (await s.reconcile()).problems == []
            async with engine.begin() as conn:  # a second part, as a double planning would
                await conn.execute(
                    refund_sends.insert().values({**sent, "refund_id": "rf-forged", "tries": 0})
                )
        finally:
            await engine.dispose()
        problems = "\n".join((await s.reconcile()).problems)
        assert f"payment {payment['payment_id']}: took 36800 but 73600 is sent back" in problems
        assert f"refund {sent['stream_id']}: booked 36800 but its sends plan 73600" in problems
