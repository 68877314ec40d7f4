"""WeChat Pay API v3 end to end, through the real adapter and the `wechatpayv3` SDK against a
stand-in that follows the published protocol (tests/wechatpay_standin.py): a presale's
deposit (JSAPI) and balance (Native) paid by notification, refunds sent back through each
payment and finished by WeChat's refund notifications, a group's tier difference refunded at
WeChat, a payment after cancel returned; notifications tampered, replayed and duplicated;
WeChat down for a while. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

from server.ledger.engine import create_engine
from server.ledger.schema import refund_sends
from server.payments.wechat import trade_no
from tests.campaigns import campaign_text, manual_offer
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.server_harness import LiveServer, eventually
from tests.wechatpay_standin import StandIn, wechatpay_standin

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
NOTIFY = "/api/v1/payments/wechat/notify"


@contextlib.asynccontextmanager
async def with_wechat(
    serve_with_ledger: Serve, tmp_path: Path, text: str | None = None, **options: Any
) -> AsyncIterator[tuple[LiveServer, StandIn]]:
    async with wechatpay_standin() as standin:
        config = standin.config(tmp_path)
        async with serve_with_ledger(
            text,
            wechatpay=config,
            payment_providers=("wechat", "sandbox"),
            public_url="https://live.example.com",
            **options,
        ) as s:
            yield s, standin


async def pay_at_wechat(
    s: LiveServer, standin: StandIn, headers: dict[str, str], order_id: str, **body: Any
) -> dict[str, Any]:
    """Open the next stage with WeChat Pay, the buyer pays, WeChat notifies the gateway."""
    r = await s.client.post(f"/api/v1/orders/{order_id}/payments", json=body, headers=headers)
    if r.status_code == 409 and r.json()["error"] == "address_needed":
        address = {"address_id": await s.address(headers)}
        put = await s.client.put(
            f"/api/v1/orders/{order_id}/address", json=address, headers=headers
        )
        assert put.status_code == 200, put.text
        r = await s.client.post(f"/api/v1/orders/{order_id}/payments", json=body, headers=headers)
    assert r.status_code == 201, r.text
    payment: dict[str, Any] = r.json()
    assert payment["provider"] == "wechat"
    notice, signed = standin.pay(trade_no(payment["payment_id"]))
    notified = await s.client.post(NOTIFY, content=notice, headers=signed)
    assert notified.status_code == 200 and notified.json()["result"] in ("succeeded", "refunded")
    return payment


async def ledger_sends(ledger_url: str) -> list[dict[str, Any]]:
    engine = create_engine(ledger_url)
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(select(refund_sends))).all()
    finally:
        await engine.dispose()
    return [dict(row._mapping) for row in found]


async def refunds_finished_by_wechat(
    s: LiveServer, standin: StandIn, ledger_url: str, n: int
) -> list[dict[str, Any]]:
    """Wait until n sends are at WeChat, then WeChat finishes them and notifies."""
    await eventually(
        lambda: ledger_sends(ledger_url),
        lambda found: len(found) == n and all(f["state"] == "processing" for f in found),
        20,
    )
    for notice in standin.finish_refunds():
        r = await s.client.post(NOTIFY, content=notice[0], headers=notice[1])
        assert r.status_code == 200 and r.json()["result"] == "succeeded", r.text
    return await eventually(
        lambda: ledger_sends(ledger_url),
        lambda found: {f["state"] for f in found} == {"succeeded"},
    )


async def test_a_presale_paid_at_wechat_and_refunded_back_through_both_payments(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    text = manual_offer(campaign_text(100, 0, 0))
    async with with_wechat(serve_with_ledger, tmp_path, text) as (s, standin):
        alice = await s.login("alice")
        order = await s.order(alice, mode="presale", qty=2)
        r = await s.client.post(
            f"/api/v1/orders/{order['order_id']}/payments",
            json={"provider": "wechat", "openid": OPENID},
            headers=alice,
        )
        assert r.status_code == 201, r.text
        deposit = r.json()
        checkout = deposit["checkout"]
        assert checkout["kind"] == "jsapi" and checkout["package"].startswith("prepay_id=")
        signed = "\n".join(checkout[k] for k in ("appId", "timeStamp", "nonceStr", "package"))
        standin.merchant_key.public_key().verify(  # what WeChat's client checks before paying
            base64.b64decode(checkout["paySign"]),
            (signed + "\n").encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        again = await s.client.post(
            f"/api/v1/orders/{order['order_id']}/payments",
            json={"provider": "wechat", "openid": OPENID},
            headers=alice,
        )
        assert again.json()["payment_id"] == deposit["payment_id"]  # the same prepay, kept
        assert again.json()["checkout"]["package"] == checkout["package"]
        notice = standin.pay(trade_no(deposit["payment_id"]))
        paid = await s.client.post(NOTIFY, content=notice[0], headers=notice[1])
        assert paid.status_code == 200 and paid.json()["result"] == "succeeded", paid.text
        assert (await s.my_orders(alice))[order["order_id"]]["status"] == "awaiting_balance"

        await s.set_clock("2026-09-06T09:00:00+08:00")
        balance = await pay_at_wechat(s, standin, alice, order["order_id"])  # no openid: Native
        assert balance["stage"] == "balance"
        assert standin.trades[trade_no(balance["payment_id"])].openid == ""
        r = await s.client.post(
            f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        done = await refunds_finished_by_wechat(s, standin, ledger_url, 2)
        assert {f["payment_id"]: f["amount_fen"] for f in done} == {
            deposit["payment_id"]: 2 * 5000,
            balance["payment_id"]: 2 * 24800,
        }
        assert all(f["provider"] == "wechat" and f["provider_ref"] for f in done)
        for payment in (deposit, balance):
            trade = standin.trades[trade_no(payment["payment_id"])]
            assert trade.refunded == trade.total
        assert set(standin.refund_asks.values()) == {1}
        report = await s.reconcile()
        assert report.problems == [] and report.refund_sent_fen == 2 * 29800


async def test_a_groups_tier_difference_and_a_payment_after_cancel_go_back_at_wechat(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    async with with_wechat(serve_with_ledger, tmp_path, clock_start=GROUP_OPEN) as (s, standin):
        members = [await s.login(f"t{i}") for i in range(10)]
        opened = await s.order(members[0], mode="group", qty=1, open_group=True)
        orders = [opened]
        for headers in members[1:]:
            orders.append(
                await s.order(headers, mode="group", qty=1, group_code=opened["group_code"])
            )
        for headers, order in zip(members, orders, strict=True):
            await pay_at_wechat(s, standin, headers, order["order_id"])
        late = await s.login("late")
        unpaid = await s.order(late, mode="direct", qty=1)
        r = await s.client.post(f"/api/v1/orders/{unpaid['order_id']}/payments", headers=late)
        assert r.status_code == 201 and r.json()["provider"] == "wechat"  # the default
        late_trade = trade_no(r.json()["payment_id"])
        standin.closes_fail = True  # so the expired order's payment stays open at WeChat
        await s.advance(86_401)  # the group forms at the lower tier; the unpaid order expires
        await s.wait_for_status(late, unpaid["order_id"], "expired")
        # The follower closes a payment once the ledger shows its order moved on; an ask made
        # before that waits 30 s of campaign time, so the clock moves past any such wait.
        await s.ledger_caught_up()
        await s.advance(60)

        # the follower tried to close it and now waits before asking again: no race with the
        # buyer, who pays anyway
        async def closes_asked() -> int:
            return standin.close_asks[late_trade]

        await eventually(closes_asked, lambda n: n >= 1, 20)
        notice = standin.pay(late_trade)
        bounced = await s.client.post(NOTIFY, content=notice[0], headers=notice[1])
        assert bounced.json()["result"] == "refunded"
        done = await refunds_finished_by_wechat(s, standin, ledger_url, 11)
        reasons = sorted((f["reason"], f["amount_fen"]) for f in done)
        assert reasons == [("group_tier", 2000)] * 10 + [("paid_after_end", 36800)]
        report = await s.reconcile()
        assert report.problems == [] and report.refund_sent_fen == 20000 + 36800


async def test_notifications_tampered_replayed_or_repeated_change_nothing(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_wechat(serve_with_ledger, tmp_path) as (s, standin):
        bob = await s.login("bob")
        order = await s.order(bob, mode="direct", qty=1)
        r = await s.client.post(
            f"/api/v1/orders/{order['order_id']}/payments", json={}, headers=bob
        )
        payment = r.json()
        body, headers = standin.pay(trade_no(payment["payment_id"]))

        tampered = body.replace(b'"summary":"', b'"summary":"x')
        refused = await s.client.post(NOTIFY, content=tampered, headers=headers)
        assert refused.status_code == 401 and refused.json()["field"] == "Wechatpay-Signature"
        forged = StandIn().notification("TRANSACTION.SUCCESS", "transaction", {"x": 1})
        assert (
            await s.client.post(NOTIFY, content=forged[0], headers=forged[1])
        ).status_code == 401
        trade = standin.trades[trade_no(payment["payment_id"])]
        old = standin.notification(
            "TRANSACTION.SUCCESS",
            "transaction",
            {"out_trade_no": trade.out_trade_no, "attach": trade.attach, "trade_state": "SUCCESS",
             "amount": {"total": trade.total}},
            at=time.time() - 3600,
        )  # fmt: skip
        replayed = await s.client.post(NOTIFY, content=old[0], headers=old[1])
        assert replayed.status_code == 401
        assert (await s.my_orders(bob))[order["order_id"]]["status"] == "awaiting_payment"

        first = await s.client.post(NOTIFY, content=body, headers=headers)
        assert first.status_code == 200 and first.json()["result"] == "succeeded"
        repeated = await s.client.post(NOTIFY, content=body, headers=headers)
        assert repeated.status_code == 200 and repeated.json()["result"] == "duplicate"
        mine = (await s.my_orders(bob))[order["order_id"]]
        assert (mine["status"] in ("paid", "allocated"), mine["paid_fen"]) == (True, 36800)
        assert (await s.reconcile()).problems == []


async def test_while_wechat_is_down_refunds_wait_then_go_once(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    async with with_wechat(serve_with_ledger, tmp_path) as (s, standin):
        carol = await s.login("carol")
        order = await s.order(carol, mode="direct", qty=1)
        await pay_at_wechat(s, standin, carol, order["order_id"])
        standin.down = True
        down = await s.client.post(
            f"/api/v1/orders/{(await s.order(carol, mode='direct', qty=1))['order_id']}/payments",
            json={},
            headers=carol,
        )
        assert down.status_code == 503 and down.json()["error"] == "provider_unavailable"
        r = await s.client.post(
            f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        [waiting] = await eventually(
            lambda: ledger_sends(ledger_url),
            lambda found: len(found) == 1 and found[0]["tries"] >= 1,
            20,
        )
        assert waiting["state"] == "pending"
        assert (waiting["detail"] or "").startswith("provider_unavailable: ")
        standin.down = False
        await s.advance(600)  # past the backoff, on the campaign clock
        await refunds_finished_by_wechat(s, standin, ledger_url, 1)
        assert list(standin.refund_asks.values()) == [1]
        assert (await s.reconcile()).problems == []
