"""Every refund the ledger books leaves the building: the worker splits it over the payments
that took the money and sends each part to that payment's provider once (the sandbox
provider here), with its answer recorded; reconcile checks no payment gives back more than it
took. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger import refund_outbox
from server.ledger.engine import create_engine
from server.ledger.schema import refund_sends
from server.store.keys import SandboxKeys
from tests.campaigns import campaign_text, manual_offer
from tests.integration.conftest import Serve
from tests.integration.test_console_roles import signed_in
from tests.server_harness import LiveServer, eventually

pytestmark = pytest.mark.usefixtures("ledger_url")


async def sends(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(refund_sends).order_by(refund_sends.c.refund_id))).all()
    return [dict(row._mapping) for row in rows]


async def settled_sends(engine: AsyncEngine, n: int) -> list[dict[str, Any]]:
    return await eventually(
        lambda: sends(engine),
        lambda found: len(found) == n and all(f["state"] == "succeeded" for f in found),
        20,
    )


async def at_the_sandbox(s: LiveServer) -> dict[str, dict[str, Any]]:
    keys = SandboxKeys(s.app.state.gateway.settings.key_prefix)
    found = await s.app.state.gateway.runtime.redis.hgetall(keys.refunds)
    return {k.decode(): orjson.loads(v) for k, v in found.items()}


async def test_a_payment_after_cancel_goes_back_through_that_payment(
    serve_with_ledger: Serve, ledger_url: str
) -> None:
    async with serve_with_ledger() as s:
        carol = await s.login("carol")
        order = await s.order(carol, mode="direct", qty=1)
        payment = await s.open_payment(carol, order["order_id"])
        await s.advance(901)
        await s.wait_for_status(carol, order["order_id"], "expired")
        assert (await s.notify(payment)).json()["result"] == "refunded"
        engine = create_engine(ledger_url)
        try:
            [sent] = await settled_sends(engine, 1)
        finally:
            await engine.dispose()
        assert (sent["payment_id"], sent["amount_fen"], sent["payment_fen"]) == (
            payment["payment_id"],
            36800,
            36800,
        )
        assert sent["provider"] == "sandbox" and sent["reason"] == "paid_after_end"
        provider = await at_the_sandbox(s)
        assert provider[sent["refund_id"]]["amount_fen"] == 36800
        assert provider[sent["refund_id"]]["payment"] == payment["payment_id"]
        report = await s.reconcile()
        assert report.problems == [] and report.refund_sent_fen == 36800


async def test_a_presale_refunded_whole_goes_back_balance_first_then_deposit(
    serve_with_ledger: Serve, ledger_url: str
) -> None:
    async with serve_with_ledger(manual_offer(campaign_text(100, 0, 0))) as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="presale", qty=2)
        deposit = await s.pay(alice, order["order_id"])
        await s.set_clock("2026-09-06T09:00:00+08:00")
        balance = await s.pay(alice, order["order_id"])
        r = await s.client.post(
            f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        engine = create_engine(ledger_url)
        try:
            found = await settled_sends(engine, 2)
        finally:
            await engine.dispose()
        by_payment = {f["payment_id"]: f["amount_fen"] for f in found}
        assert by_payment == {balance["payment_id"]: 2 * 24800, deposit["payment_id"]: 2 * 5000}
        assert {f["stream_id"] for f in found} == {found[0]["stream_id"]}  # one booked refund
        provider = await at_the_sandbox(s)
        assert Counter(v["payment"] for v in provider.values()) == Counter(by_payment.keys())
        report = await s.reconcile()
        assert report.problems == [] and report.refund_sent_fen == 2 * 29800


async def test_without_the_providers_refund_api_refunds_wait_for_ops(
    serve_with_ledger: Serve, ledger_url: str
) -> None:
    async with serve_with_ledger(refund_sandbox=False) as s:
        carol = await s.login("carol")
        order = await s.order(carol, mode="direct", qty=1)
        await s.pay(carol, order["order_id"])
        r = await s.client.post(
            f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        engine = create_engine(ledger_url)
        try:
            [waiting] = await eventually(
                lambda: sends(engine), lambda found: len(found) == 1 and found[0]["tries"] > 0, 20
            )
            assert waiting["state"] == "pending"
            assert waiting["detail"] == "provider_not_configured"
            now = s.app.state.gateway.runtime.clock.now_ms()
            assert await refund_outbox.troubles(engine, "mid-autumn", now, 3_600_000) == []
            later = await refund_outbox.troubles(engine, "mid-autumn", now + 3_600_001, 3_600_000)
            assert [t["refund_id"] for t in later] == [waiting["refund_id"]]
        finally:
            await engine.dispose()
        assert await at_the_sandbox(s) == {}
        report = await s.reconcile()
        assert report.problems == [] and report.refund_open_fen == 36800
        async with signed_in(s, "qian.fin", "finance") as (client, _):
            page = await client.get("/console/finance")
            assert page.status_code == 200 and "原路退款" in page.text
            assert "没有被拒或超时的退款" in page.text  # not overdue yet
            await s.advance(2 * 3600 + 1)
            page = await client.get("/console/finance")
            assert f'data-refund="{waiting["refund_id"]}"' in page.text
            assert "退款接口未配置" in page.text and "¥368" in page.text
