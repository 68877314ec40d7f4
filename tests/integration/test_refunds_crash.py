"""Refunds across worker crashes: a worker killed with SIGKILL after refunds were booked and
planned but before any was sent sends each once after it restarts; a send whose answer was
lost (sent, then the worker died before recording it) goes again under the same refund id,
and the provider keeps it once: the money moves once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import orjson
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.schema import refund_sends
from server.store.keys import SandboxKeys
from tests.campaigns import campaign_text
from tests.integration.conftest import Serve
from tests.integration.test_ledger_crash import worker_process
from tests.integration.test_refunds_sent import sends
from tests.server_harness import LiveServer, eventually

BUYERS = 30


async def buy_then_refund(s: LiveServer, user: str) -> None:
    h = await s.login(user)
    order = await s.order(h, mode="direct", qty=1)
    await s.pay(h, order["order_id"])
    r = await s.client.post(
        f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
    )
    assert r.status_code == 200, r.text


async def test_a_worker_killed_before_sending_sends_each_refund_once(
    serve: Serve,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    ledger_url: str,
    ledger_engine: AsyncEngine,
) -> None:
    async with serve(campaign_text(1000, 0, 0), database_url=ledger_url) as s:
        for start in range(0, BUYERS, 10):
            await asyncio.gather(*(buy_then_refund(s, f"r{i}") for i in range(start, start + 10)))
        redis = s.app.state.gateway.runtime.redis
        keys = SandboxKeys(key_prefix)
        # First life: the provider is not reachable (not configured), so every refund is
        # booked and planned, tried, and none sent; then the worker dies.
        no_provider = {"LIVEROOM_REFUND_SANDBOX": "0"}
        with worker_process(redis_url, ledger_url, key_prefix, tmp_path, no_provider) as worker:
            await eventually(
                lambda: sends(ledger_engine),
                lambda found: len(found) == BUYERS and all(f["tries"] > 0 for f in found),
                30,
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        assert {f["state"] for f in await sends(ledger_engine)} == {"pending"}
        assert await redis.get(keys.refund_requests) is None

        with worker_process(redis_url, ledger_url, key_prefix, tmp_path):
            done = await eventually(
                lambda: sends(ledger_engine),
                lambda found: {f["state"] for f in found} == {"succeeded"},
                30,
            )
        at_provider = {
            k.decode(): orjson.loads(v) for k, v in (await redis.hgetall(keys.refunds)).items()
        }
        assert set(at_provider) == {f["refund_id"] for f in done}
        assert int(await redis.get(keys.refund_requests)) == BUYERS  # each asked once
        assert all(at_provider[f["refund_id"]]["amount_fen"] == f["amount_fen"] for f in done)

        # An answer lost: the worker sent these, then died before recording what came back.
        lost = [f["refund_id"] for f in done[: BUYERS // 3]]
        async with ledger_engine.begin() as conn:
            await conn.execute(
                update(refund_sends)
                .where(refund_sends.c.refund_id.in_(lost))
                .values(state="pending", provider_ref=None, done_at_ms=None)
            )
        with worker_process(redis_url, ledger_url, key_prefix, tmp_path):
            await eventually(
                lambda: sends(ledger_engine),
                lambda found: {f["state"] for f in found} == {"succeeded"},
                30,
            )
        assert int(await redis.get(keys.refund_requests)) == BUYERS + len(lost)  # asked again
        again = {
            k.decode(): orjson.loads(v) for k, v in (await redis.hgetall(keys.refunds)).items()
        }
        assert again == at_provider  # kept once: no refund paid twice
        returned = {k.decode(): int(v) for k, v in (await redis.hgetall(keys.returned)).items()}
        assert returned == {f["payment_id"]: f["amount_fen"] for f in done}
        report = await s.reconcile()
        assert report.problems == [] and report.refund_sent_fen == sum(
            f["amount_fen"] for f in done
        )


async def test_two_workers_send_each_refund_once(
    serve: Serve,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    ledger_url: str,
    ledger_engine: AsyncEngine,
) -> None:
    async with serve(campaign_text(1000, 0, 0), database_url=ledger_url) as s:
        for start in range(0, BUYERS, 10):
            await asyncio.gather(*(buy_then_refund(s, f"r{i}") for i in range(start, start + 10)))
        one, two = {"LIVEROOM_WORKER_NAME": "one"}, {"LIVEROOM_WORKER_NAME": "two"}
        with (
            worker_process(redis_url, ledger_url, key_prefix, tmp_path, one),
            worker_process(redis_url, ledger_url, key_prefix, tmp_path, two),
        ):
            done = await eventually(
                lambda: sends(ledger_engine),
                lambda found: len(found) == BUYERS and {f["state"] for f in found} == {"succeeded"},
                30,
            )
        redis = s.app.state.gateway.runtime.redis
        keys = SandboxKeys(key_prefix)
        assert int(await redis.get(keys.refund_requests)) == BUYERS
        assert await redis.hlen(keys.refunds) == len(done) == BUYERS
        assert (await s.reconcile()).problems == []
