"""Distribution through the API with the ledger worker running: the seed article's worked
example, commission states from pending to settled and back, quotes, recruitment."""

from __future__ import annotations

from typing import Any

import pytest

from tests.campaigns import campaign_text, manual_offer
from tests.integration.conftest import Serve
from tests.server_harness import LiveServer, eventually

pytestmark = pytest.mark.usefixtures("ledger_url")


async def commissions(s: LiveServer, headers: dict[str, str]) -> dict[str, Any]:
    await s.ledger_caught_up()
    r = await s.client.get("/api/v1/distributors/me", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def amounts(summary: dict[str, Any]) -> dict[str, int]:
    return {state: v["amount_fen"] for state, v in summary["commissions"].items() if v["lines"]}


async def test_seed_worked_example(serve_with_ledger: Serve) -> None:
    """B shares a presale link; C pays the deposit through it; B earns only once C has paid
    the balance. Later C joins a group through a community link: B earns nothing. (The
    depositor offer stays shut, so the balance is the presale's ¥248.)"""
    async with serve_with_ledger(manual_offer(campaign_text(100, 0, 0))) as s:
        a, b, c = await s.login("A"), await s.login("B"), await s.login("C")
        code_a = await s.become_distributor(a)
        code_b = await s.become_distributor(b, upline=code_a)
        presale = await s.order(c, mode="presale", qty=1, ref=code_b)
        await s.pay(c, presale["order_id"])
        assert amounts(await commissions(s, b)) == {}  # deposit only: nothing yet

        await s.set_clock("2026-09-06T10:00:00+08:00")
        await s.pay(c, presale["order_id"])  # the balance
        assert amounts(await commissions(s, b)) == {"pending": 29800 * 1500 // 10000}
        assert amounts(await commissions(s, a)) == {"pending": 29800 * 500 // 10000}

        community = await s.community("C的小区群")
        group = await s.order(c, mode="group", qty=1, open_group=True, ref=community)
        await s.pay(c, group["order_id"])
        assert amounts(await commissions(s, b)) == {"pending": 4470}  # unchanged
        assert (await commissions(s, b))["recruits"] == 0
        assert (await commissions(s, a))["recruits"] == 1
        report = await s.reconcile()
        assert report.problems == [] and report.commission_fen == 4470 + 1490
        assert (
            report.paid_fen == report.refunded_fen + report.commission_fen + report.merchant_net_fen
        )
        finance = (
            await s.client.get("/api/v1/ops/reports/finance?campaign_id=mid-autumn", headers=s.ops)
        ).json()
        owed = {d["distributor"]: d["owed_fen"] for d in finance["distributors"]}
        assert owed == {code_b: 4470, code_a: 1490}
        assert finance["merchant_net_fen"] == 29800 + 32800 - 4470 - 1490


async def test_commission_settles_after_the_after_sale_period_and_claws_back(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(campaign_text(100, 0, 0)) as s:
        d, buyer = await s.login("dist"), await s.login("buyer")
        code = await s.become_distributor(d)
        order = await s.order(buyer, mode="direct", qty=2, ref=code)
        await s.pay(buyer, order["order_id"])
        await s.deliver(buyer, order["order_id"])
        assert amounts(await commissions(s, d)) == {"frozen": 2 * 36800 * 15 // 100}
        await s.advance(7 * 86_400 + 1)
        await s.wait_for_status(buyer, order["order_id"], "completed")
        settled = await commissions(s, d)
        assert amounts(settled) == {"settled": 11040} and settled["balance_fen"] == 11040
        r = await s.client.post(
            f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200
        after = await commissions(s, d)
        assert amounts(after) == {"clawed_back": 11040} and after["balance_fen"] == 0


async def test_refund_before_settlement_cancels_and_forfeit_earns_nothing(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(campaign_text(100, 0, 0)) as s:
        d, buyer = await s.login("dist"), await s.login("buyer")
        code = await s.become_distributor(d)
        direct = await s.order(buyer, mode="direct", qty=1, ref=code)
        await s.pay(buyer, direct["order_id"])
        presale = await s.order(buyer, mode="presale", qty=1, ref=code)
        await s.pay(buyer, presale["order_id"])
        await s.client.post(
            f"/api/v1/ops/orders/{direct['order_id']}/refund", json={}, headers=s.ops
        )
        await s.set_clock("2026-09-16T00:00:01+08:00")  # the balance window closes unpaid
        await s.wait_for_status(buyer, presale["order_id"], "forfeited")
        assert amounts(await commissions(s, d)) == {"cancelled": 5520}
        assert (await s.reconcile()).problems == []


@pytest.mark.parametrize(("switch", "expected"), [("true", {"pending": 5520}), ("false", {})])
async def test_self_purchase_switch(
    serve_with_ledger: Serve, switch: str, expected: dict[str, int]
) -> None:
    text = campaign_text(100, 0, 0).replace(
        "self_purchase_commission = true", f"self_purchase_commission = {switch}"
    )
    async with serve_with_ledger(text) as s:
        me = await s.login("selfie")
        code = await s.become_distributor(me)
        order = await s.order(me, mode="direct", qty=1, ref=code)
        await s.pay(me, order["order_id"])
        assert amounts(await commissions(s, me)) == expected


async def test_quote_shows_every_identity_and_the_price_charged_is_the_price_quoted(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(campaign_text(100, 0, 0)) as s:
        vip = await s.login("vip")
        r = await s.client.put(
            "/api/v1/ops/users/vip", json={"member_tier": "black-gold"}, headers=s.ops
        )
        assert r.status_code == 200
        await s.become_distributor(vip)
        q = (await s.client.get("/api/v1/campaigns/mid-autumn/quote", headers=vip)).json()
        assert q["identities"]["member_tier"] == "black-gold"
        assert "15%" in q["distributor_effect"]
        direct = next(o for o in q["options"] if o["offer"] == "direct")
        assert direct["unit_price_fen"] == 36800 - 1840  # 95折
        assert any("黑金会员" in e for e in direct["effects"])
        assert q["applies"]["offer"] == "presale" and q["applies"]["unit_price_fen"] == 29800
        order = await s.order(vip, mode="direct", qty=3)
        assert order["amount_due_fen"] == 3 * direct["unit_price_fen"]


async def test_recruitment_rules(serve_with_ledger: Serve) -> None:
    text = campaign_text(100, 0, 0).replace('recruitment = "open"', 'recruitment = "approval"')
    async with serve_with_ledger(text) as s:
        hopeful, buyer = await s.login("hopeful"), await s.login("buyer")
        r = await s.client.post("/api/v1/distributors", json={}, headers=hopeful)
        assert r.status_code == 201 and r.json()["status"] == "pending"
        code = r.json()["code"]
        order = await s.order(buyer, mode="direct", qty=1, ref=code)  # pending: earns nothing
        await s.pay(buyer, order["order_id"])
        bad = await s.client.post(
            "/api/v1/distributors", json={"upline": code}, headers=await s.login("x")
        )
        assert (bad.status_code, bad.json()["field"]) == (422, "upline")
        ok = await s.client.post(f"/api/v1/ops/distributors/{code}/approve", headers=s.ops)
        assert ok.status_code == 200 and ok.json()["status"] == "active"
        assert amounts(await commissions(s, hopeful)) == {}
        again = await s.client.post("/api/v1/distributors", json={}, headers=hopeful)
        assert again.status_code == 200 and again.json()["code"] == code
        await eventually(lambda: commissions(s, hopeful), lambda c: c["code"] == code)


async def test_presale_to_group_in_one_action(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(manual_offer(campaign_text(100, 0, 0))) as s:
        dep, late, browser = await s.login("dep"), await s.login("late"), await s.login("browser")
        deposit = await s.order(dep, mode="presale", qty=1)
        await s.pay(dep, deposit["order_id"])
        await s.order(late, mode="presale", qty=1)  # never pays the deposit
        url = "/api/v1/ops/campaigns/mid-autumn/presale-to-group"
        early = await s.client.post(url, headers=s.ops)
        assert early.status_code == 409 and early.json()["error"] == "window_closed"
        await s.set_clock("2026-09-06T10:00:00+08:00")
        first = await s.client.post(url, headers=s.ops)
        assert first.json() == {
            "result": "opened",
            "depositors_notified": 1,
            "price_fen": 28800,
            "balance_fen": 23800,
        }
        again = await s.client.post(url, headers=s.ops)
        assert again.json()["result"] == "already"

        async def notes_of(headers: dict[str, str]) -> dict[str, Any]:
            found: dict[str, Any] = (
                await s.client.get("/api/v1/me/notifications", headers=headers)
            ).json()
            return found

        notes = await eventually(lambda: notes_of(dep), lambda n: len(n["notifications"]) == 1)
        assert "¥288" in notes["notifications"][0]["text"]
        assert (await notes_of(late))["notifications"] == []

        balance = await s.pay(dep, deposit["order_id"])
        assert balance["amount_fen"] == 23800  # the deposit counts towards ¥288
        extra = await s.order(dep, mode="group", qty=2, offer="depositor_group")
        assert extra["amount_due_fen"] == 2 * 28800
        counters = await s.app.state.gateway.runtime.redis.hgetall(
            f"{s.app.state.gateway.settings.key_prefix}:{{mid-autumn}}:counters"
        )
        assert counters[b"depositors.converted"] == b"1"
        assert (await s.stock())["pools"]["group"]["reserved"] == 2
        refused = await s.client.post(
            "/api/v1/campaigns/mid-autumn/orders",
            headers=browser,
            json={"mode": "group", "qty": 1, "offer": "depositor_group"},
        )
        assert (refused.status_code, refused.json()["field"]) == (403, "offer")
        q = (await s.client.get("/api/v1/campaigns/mid-autumn/quote", headers=dep)).json()
        assert (
            q["applies"]["offer"] == "depositor_group" and q["applies"]["unit_price_fen"] == 28800
        )
        await s.pay(dep, extra["order_id"])
        report = await s.reconcile()
        assert report.problems == [] and report.paid_fen == 28800 * 3


async def test_clawback_after_payout_leaves_a_debt_that_later_commission_pays_off(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(campaign_text(100, 0, 0)) as s:
        d, buyer = await s.login("dist"), await s.login("buyer")
        code = await s.become_distributor(d)

        async def delivered_order(qty: int) -> str:
            order = await s.order(buyer, mode="direct", qty=qty, ref=code)
            await s.pay(buyer, order["order_id"])
            await s.deliver(buyer, order["order_id"])
            return str(order["order_id"])

        first = await delivered_order(2)  # commission 11040
        await s.advance(7 * 86_400 + 1)
        await s.wait_for_status(buyer, first, "completed")
        payout = await s.client.post(f"/api/v1/ops/distributors/{code}/payouts", headers=s.ops)
        assert payout.status_code == 200, payout.text
        assert payout.json()["paid_out_fen"] == 11040
        await s.client.post(f"/api/v1/ops/orders/{first}/refund", json={}, headers=s.ops)
        owing = await commissions(s, d)
        assert (owing["balance_fen"], owing["debt_fen"]) == (-11040, 11040)
        second = await delivered_order(3)  # commission 16560 settles into the debt first
        await s.advance(7 * 86_400 + 1)
        await s.wait_for_status(buyer, second, "completed")
        after = await commissions(s, d)
        assert (after["balance_fen"], after["debt_fen"]) == (16560 - 11040, 0)
        again = await s.client.post(f"/api/v1/ops/distributors/{code}/payouts", headers=s.ops)
        assert again.json()["paid_out_fen"] == 5520
        assert (await commissions(s, d))["balance_fen"] == 0
