"""Alipay end to end, through the real adapter and `python-alipay-sdk` against a stand-in that
follows the published protocol (tests/alipay_standin.py): a payment made at the cashier and
notified, refunded back through Alipay once; one order paid through both providers (the
deposit with Alipay, the balance with WeChat Pay) refunded through each; notifications
tampered, replayed and repeated; a refund Alipay refuses shown to ops with its reason, and
sent again by ops once the cause is fixed. On SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa

from server.ledger.schema import audit_log
from server.payments.alipay import trade_no
from tests.alipay_standin import AlipayStandIn, alipay_standin
from tests.campaigns import campaign_text, manual_offer
from tests.integration.conftest import Serve
from tests.integration.test_console_roles import signed_in
from tests.integration.test_wechatpay import NOTIFY as WECHAT_NOTIFY
from tests.integration.test_wechatpay import ledger_sends
from tests.server_harness import LiveServer, eventually
from tests.wechatpay_standin import StandIn, wechatpay_standin

SEND_AGAIN = "/console/finance/refunds/send-again?campaign=mid-autumn"
NOTIFY = "/api/v1/payments/alipay/notify"


@contextlib.asynccontextmanager
async def with_providers(
    serve_with_ledger: Serve, tmp_path: Path, text: str | None = None
) -> AsyncIterator[tuple[LiveServer, AlipayStandIn, StandIn]]:
    async with alipay_standin() as alipay, wechatpay_standin() as wechat:
        async with serve_with_ledger(
            text,
            alipay=alipay.config(tmp_path),
            wechatpay=wechat.config(tmp_path),
            payment_providers=("alipay", "wechat"),
            public_url="https://live.example.com",
        ) as s:
            yield s, alipay, wechat


async def pay_with_alipay(
    s: LiveServer, alipay: AlipayStandIn, headers: dict[str, str], order_id: str
) -> dict[str, Any]:
    payment = await s.open_payment(headers, order_id, "alipay")
    checkout = payment["checkout"]
    assert checkout["kind"] == "wap" and checkout["url"].startswith(alipay.url + "?")
    cashier = await alipay.visit(checkout["url"])  # the signature is checked there
    assert cashier.status_code == 200 and "收银台" in cashier.text, cashier.text
    body, headers_ = alipay.pay(trade_no(payment["payment_id"]))
    notified = await s.client.post(NOTIFY, content=body, headers=headers_)
    assert notified.status_code == 200 and notified.text == "success", notified.text
    return payment


async def test_paid_at_the_cashier_and_refunded_once_through_alipay(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    async with with_providers(serve_with_ledger, tmp_path) as (s, alipay, _):
        dan = await s.login("dan")
        order = await s.order(dan, mode="direct", qty=2)
        payment = await pay_with_alipay(s, alipay, dan, order["order_id"])
        assert (await s.my_orders(dan))[order["order_id"]]["paid_fen"] == 73600
        assert alipay.bad_signatures == 0
        r = await s.client.post(
            f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        [sent] = await eventually(
            lambda: ledger_sends(ledger_url),
            lambda found: len(found) == 1 and found[0]["state"] == "succeeded",
            20,
        )
        assert (sent["provider"], sent["payment_id"], sent["amount_fen"]) == (
            "alipay",
            payment["payment_id"],
            73600,
        )
        assert str(alipay.trades[trade_no(payment["payment_id"])].refunded) == "736.00"
        assert list(alipay.refund_asks.values()) == [1]
        report = await s.reconcile()
        assert report.problems == [] and report.refund_sent_fen == 73600


async def test_one_order_paid_through_both_providers_goes_back_through_each(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    text = manual_offer(campaign_text(100, 0, 0))
    async with with_providers(serve_with_ledger, tmp_path, text) as (s, alipay, wechat):
        erin = await s.login("erin")
        order = await s.order(erin, mode="presale", qty=1)
        deposit = await pay_with_alipay(s, alipay, erin, order["order_id"])
        await s.set_clock("2026-09-06T09:00:00+08:00")
        balance = await s.open_payment(erin, order["order_id"], "wechat")
        body, headers = wechat.pay(balance["payment_id"].partition("~")[2])
        paid = await s.client.post(WECHAT_NOTIFY, content=body, headers=headers)
        assert paid.json()["result"] == "succeeded"
        r = await s.client.post(
            f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        await eventually(
            lambda: ledger_sends(ledger_url),
            lambda found: len(found) == 2 and {f["state"] for f in found} >= {"succeeded"},
            20,
        )
        for notice in wechat.finish_refunds():  # WeChat's part finishes later, by notice
            assert (
                await s.client.post(WECHAT_NOTIFY, content=notice[0], headers=notice[1])
            ).status_code == 200
        done = await eventually(
            lambda: ledger_sends(ledger_url),
            lambda found: {f["state"] for f in found} == {"succeeded"},
        )
        assert {(f["provider"], f["payment_id"], f["amount_fen"]) for f in done} == {
            ("alipay", deposit["payment_id"], 5000),
            ("wechat", balance["payment_id"], 24800),
        }
        assert (await s.reconcile()).problems == []


async def test_alipay_notifications_tampered_replayed_or_repeated_change_nothing(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_providers(serve_with_ledger, tmp_path) as (s, alipay, _):
        fay = await s.login("fay")
        order = await s.order(fay, mode="direct", qty=1)
        payment = await s.open_payment(fay, order["order_id"], "alipay")
        await alipay.visit(payment["checkout"]["url"])
        no = trade_no(payment["payment_id"])
        body, headers = alipay.pay(no)
        fields = dict(parse_qsl(body.decode()))

        cheaper = urlencode({**fields, "total_amount": "0.01"}).encode()
        refused = await s.client.post(NOTIFY, content=cheaper, headers=headers)
        assert refused.status_code == 401 and refused.json()["field"] == "sign"
        unsigned = {k: v for k, v in fields.items() if k not in ("sign", "sign_type")}
        other_app = alipay.notification({**unsigned, "app_id": "2021000000000000"})
        assert (
            await s.client.post(NOTIFY, content=other_app[0], headers=other_app[1])
        ).status_code == 401
        stale = alipay.paid_notice(no, sent=alipay.long_ago())
        assert (await s.client.post(NOTIFY, content=stale[0], headers=stale[1])).status_code == 401
        assert (await s.my_orders(fay))[order["order_id"]]["status"] == "awaiting_payment"

        first = await s.client.post(NOTIFY, content=body, headers=headers)
        assert first.status_code == 200 and first.text == "success"
        again = await s.client.post(NOTIFY, content=body, headers=headers)
        assert again.status_code == 200 and again.text == "success"  # Alipay stops retrying
        mine = (await s.my_orders(fay))[order["order_id"]]
        assert mine["paid_fen"] == 36800  # once
        assert (await s.reconcile()).problems == []


async def a_refund_alipay_refuses(s: LiveServer, alipay: AlipayStandIn) -> None:
    """Gus pays a box through Alipay; ops refund it while Alipay refuses every refund (the
    merchant's balance is short)."""
    gus = await s.login("gus")
    order = await s.order(gus, mode="direct", qty=1)
    await pay_with_alipay(s, alipay, gus, order["order_id"])
    alipay.refuse_refunds = "ACQ.SELLER_BALANCE_NOT_ENOUGH"
    r = await s.client.post(
        f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
    )
    assert r.status_code == 200, r.text


async def test_a_refund_alipay_refuses_shows_for_ops_then_goes_once_when_sent_again(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    async with with_providers(serve_with_ledger, tmp_path) as (s, alipay, _):
        await a_refund_alipay_refuses(s, alipay)
        [refused] = await eventually(
            lambda: ledger_sends(ledger_url),
            lambda found: len(found) == 1 and found[0]["state"] == "refused",
            20,
        )
        assert refused["detail"].startswith("ACQ.SELLER_BALANCE_NOT_ENOUGH")
        async with signed_in(s, "qian.fin", "finance") as (client, _):
            page = await client.get("/console/finance")
            assert f'data-refund="{refused["refund_id"]}"' in page.text
            assert "ACQ.SELLER_BALANCE_NOT_ENOUGH" in page.text and "渠道拒绝" in page.text
        report = await s.reconcile()
        assert report.problems == [] and report.refund_refused_fen == 36800

        # The merchant tops the balance up; ops send it again from the finance page
        alipay.refuse_refunds = ""
        form = {"refund_id": refused["refund_id"]}
        async with signed_in(s, "zhao.ops", "operator") as (client, csrf):
            r = await client.post(SEND_AGAIN, data={**form, "csrf": csrf})
            assert r.status_code == 403  # the provider's side is finance's
        async with signed_in(s, "qian.fin2", "finance") as (client, csrf):
            page = await client.get("/console/finance")
            assert f'data-send-again="{refused["refund_id"]}"' in page.text
            r = await client.post(SEND_AGAIN, data={**form, "csrf": csrf})
            assert r.status_code == 303, r.text
            [sent] = await eventually(
                lambda: ledger_sends(ledger_url),
                lambda found: found[0]["state"] == "succeeded",
                20,
            )
            r = await client.post(SEND_AGAIN, data={**form, "csrf": csrf})  # twice
            assert r.status_code == 409 and "不能重新发起" in r.text
        assert sent["refund_id"] == refused["refund_id"]  # the same id: the provider dedups
        assert alipay.refund_asks[refused["refund_id"]] == 2  # refused, then sent once
        [trade] = alipay.trades.values()
        assert trade.refunded == trade.total  # the money went back once
        report = await s.reconcile()
        assert report.problems == [] and report.refund_refused_fen == 0

        async def audited() -> list[tuple[str, str]]:
            async with s.app.state.gateway.ledger.connect() as conn:
                query = sa.select(audit_log.c.actor, audit_log.c.target).where(
                    audit_log.c.action == "refunds.send_again"
                )
                return [tuple(row) for row in (await conn.execute(query)).all()]

        await eventually(audited, lambda found: found == [("qian.fin2", refused["refund_id"])])
