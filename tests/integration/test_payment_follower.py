"""When a provider's notification never comes: the worker asks the provider about a payment
silent for a minute and settles it as the notification would have; a payment whose order
expired is closed at the provider (the buyer can no longer pay it) and marked failed; while
the provider is down the worker keeps asking, less and less often, and settles once it is
back. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from server.ledger.engine import create_engine
from server.ledger.schema import payments
from server.payments.wechat import trade_no
from tests.alipay_standin import AlipayStandIn
from tests.integration.conftest import Serve
from tests.integration.test_alipay import with_providers
from tests.integration.test_console_roles import signed_in
from tests.integration.test_wechatpay import with_wechat
from tests.server_harness import LiveServer, eventually
from tests.wechatpay_standin import StandIn


async def payment_status(ledger_url: str, payment_id: str) -> str | None:
    engine = create_engine(ledger_url)
    try:
        async with engine.connect() as conn:
            query = select(payments.c.status).where(payments.c.payment_id == payment_id)
            return (await conn.execute(query)).scalar()
    finally:
        await engine.dispose()


async def status_of(s: LiveServer, headers: dict[str, str], order_id: str) -> str:
    status: str = (await s.my_orders(headers))[order_id]["status"]
    return status


async def test_a_lost_wechat_notification_is_made_good_by_asking(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_wechat(serve_with_ledger, tmp_path) as (s, standin):
        hana = await s.login("hana")
        order = await s.order(hana, mode="direct", qty=1)
        payment = await s.open_payment(hana, order["order_id"])
        standin.pay(trade_no(payment["payment_id"]))  # paid; the notification is lost
        assert await status_of(s, hana, order["order_id"]) == "awaiting_payment"
        await s.advance(61)
        await eventually(
            lambda: status_of(s, hana, order["order_id"]), lambda st: st in ("paid", "allocated")
        )
        assert standin.queries >= 1
        assert (await s.reconcile()).problems == []


async def test_an_unpaid_alipay_payment_of_an_expired_order_is_closed(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    async with with_providers(serve_with_ledger, tmp_path) as (s, alipay, _):
        ivy = await s.login("ivy")
        order = await s.order(ivy, mode="direct", qty=1)
        payment = await s.open_payment(ivy, order["order_id"], "alipay")
        await alipay.visit(payment["checkout"]["url"])  # at the cashier, never pays
        no = trade_no(payment["payment_id"])
        await s.advance(61)
        await eventually(lambda: _asked(alipay), lambda n: n >= 1)
        assert alipay.trades[no].state == "WAIT_BUYER_PAY"  # still payable: the order waits
        await s.advance(900)
        await s.wait_for_status(ivy, order["order_id"], "expired")
        await eventually(lambda: _state(alipay, no), lambda st: st == "TRADE_CLOSED", 20)
        await eventually(
            lambda: payment_status(ledger_url, payment["payment_id"]), lambda st: st == "failed"
        )
        assert (await s.reconcile()).problems == []


async def test_while_wechat_is_down_the_worker_keeps_asking_then_settles(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_wechat(serve_with_ledger, tmp_path) as (s, standin):
        jun = await s.login("jun")
        order = await s.order(jun, mode="direct", qty=1)
        payment = await s.open_payment(jun, order["order_id"])
        standin.pay(trade_no(payment["payment_id"]))
        standin.down = True
        await s.advance(61)
        await eventually(lambda: _bad(standin), lambda n: n >= 1)  # asked, no answer
        assert await status_of(s, jun, order["order_id"]) == "awaiting_payment"
        await s.ledger_caught_up()
        async with signed_in(s, "qian.fin", "finance") as (client, _):
            page = await client.get("/console/finance")
            assert "等待渠道确认的支付：1 笔，共 ¥368" in page.text
        standin.down = False
        await s.advance(600)  # past the pause after an unanswered ask
        await eventually(
            lambda: status_of(s, jun, order["order_id"]), lambda st: st in ("paid", "allocated")
        )
        assert (await s.reconcile()).problems == []


async def _asked(alipay: AlipayStandIn) -> int:
    return alipay.queries


async def _state(alipay: AlipayStandIn, no: str) -> str:
    return alipay.trades[no].state


async def _bad(standin: StandIn) -> int:
    return standin.unavailable


async def test_a_provider_naming_another_amount_is_never_settled_and_not_asked_in_a_loop(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_wechat(serve_with_ledger, tmp_path) as (s, standin):
        kai = await s.login("kai")
        order = await s.order(kai, mode="direct", qty=1)
        payment = await s.open_payment(kai, order["order_id"])
        no = trade_no(payment["payment_id"])
        standin.pay(no)
        standin.trades[no].total = 1  # WeChat says one fen was paid
        await s.advance(61)
        await eventually(lambda: _queried(standin), lambda n: n >= 1)
        await asyncio.sleep(3)  # three of the follower's steps: it pauses, not asks each
        assert standin.queries == 1
        assert await status_of(s, kai, order["order_id"]) == "awaiting_payment"


async def _queried(standin: StandIn) -> int:
    return standin.queries
