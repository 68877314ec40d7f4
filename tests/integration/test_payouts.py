"""Commission payouts sent through WeChat Pay's 商家转账, against the stand-in: a payee given
in the distributor center, ops' pay-out booked and sent once under its bill number (the
real name encrypted for WeChat), followed until WeChat says it arrived; a transfer WeChat
refuses gives the commission back to the balance once, with the reason for ops and the
distributor; payouts booked before a payee was given stay outside; and the schedule ops set
pays every distributor with a payee at its slot, once. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.integration.conftest import Serve
from tests.integration.test_console_roles import signed_in
from tests.integration.test_distribution import commissions
from tests.server_harness import LiveServer, eventually
from tests.wechatpay_standin import APPID, MCHID, StandIn, wechatpay_standin

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@contextlib.asynccontextmanager
async def with_transfers(
    serve_with_ledger: Serve, tmp_path: Path
) -> AsyncIterator[tuple[LiveServer, StandIn]]:
    async with wechatpay_standin() as standin:
        async with serve_with_ledger(
            wechatpay=standin.config(tmp_path),
            payment_providers=("sandbox", "wechat"),  # buyers pay the sandbox; payouts: WeChat
            public_url="https://live.example.com",
        ) as s:
            yield s, standin


async def earned(s: LiveServer, name: str, openid: str | None) -> tuple[dict[str, str], str]:
    """A distributor whose link sold two boxes, delivered and past the after-sale period:
    ¥110.40 settled; with a payee when an openid is given."""
    d, buyer = await s.login(name), await s.login(f"{name}-buyer")
    code = await s.become_distributor(d)
    if openid:
        r = await s.client.put(
            "/api/v1/distributors/me/payee",
            json={"provider": "wechat", "account": openid, "name": "王小明"},
            headers=d,
        )
        assert r.status_code == 200, r.text
        masked = f"{openid[:2]}***{openid[-2:]}"
        assert r.json() == {"provider": "wechat", "account": masked, "name": "王**"}
    order = await s.order(buyer, mode="direct", qty=2, ref=code)
    await s.pay(buyer, order["order_id"])
    await s.deliver(buyer, order["order_id"])
    await s.advance(7 * 86_400 + 1)
    await s.wait_for_status(buyer, order["order_id"], "completed")
    assert (await commissions(s, d))["balance_fen"] == 11040
    return d, code


async def my_payouts(s: LiveServer, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await s.client.get("/api/v1/distributors/me/payouts", headers=headers)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["payouts"]
    return found


async def test_a_payout_is_sent_once_and_followed_until_it_arrives(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_transfers(serve_with_ledger, tmp_path) as (s, wechat):
        d, code = await earned(s, "dist", OPENID)
        r = await s.client.post(f"/api/v1/ops/distributors/{code}/payouts", headers=s.ops)
        assert r.json()["paid_out_fen"] == 11040
        [sent] = await eventually(
            lambda: my_payouts(s, d),
            lambda found: bool(found) and found[0]["state"] == "processing",
        )
        [transfer] = wechat.transfers.values()
        assert (transfer["openid"], transfer["transfer_amount"], transfer["user_name"]) == (
            OPENID,
            11040,
            "王小明",  # sent encrypted: only WeChat's key reads it
        )
        wechat.finish_transfers()
        await s.advance(60)  # past the pause before asking again
        await eventually(lambda: my_payouts(s, d), lambda found: found[0]["state"] == "succeeded")
        assert list(wechat.transfer_asks.values()) == [1]
        assert (await commissions(s, d))["balance_fen"] == 0
        assert (await s.reconcile()).problems == []


async def test_the_payee_confirms_receipt_in_wechat_and_it_is_asked_about_at_once(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_transfers(serve_with_ledger, tmp_path) as (s, wechat):
        d, code = await earned(s, "dist", OPENID)
        await s.client.post(f"/api/v1/ops/distributors/{code}/payouts", headers=s.ops)
        [sent] = await eventually(
            lambda: my_payouts(s, d),
            lambda found: bool(found) and found[0]["state"] == "processing",
        )
        [transfer] = wechat.transfers.values()
        asked = {"mchId": MCHID, "appId": APPID, "package": transfer["package_info"]}
        assert sent["confirm_request"] == asked
        # Campaign time nearly stops: the worker's pause before asking again never ends
        await s.advance(0.001, speed=0.001)
        wechat.confirm_receipt(asked["mchId"], asked["appId"], asked["package"])  # in WeChat
        path = f"/api/v1/distributors/me/payouts/{sent['payout_id']}/receipt-confirmed"
        stranger = await s.login("stranger")
        await s.become_distributor(stranger)
        for headers, body, status, named in (
            (stranger, {}, 404, "payout_id"),  # not theirs
            (d, {"state": "succeeded"}, 422, "state"),  # the page cannot say what WeChat did
        ):
            r = await s.client.post(path, json=body, headers=headers)
            assert (r.status_code, r.json()["field"]) == (status, named), r.text
        r = await s.client.post(path.replace(sent["payout_id"], "1-0"), json={}, headers=d)
        assert r.json()["error"] == "payout_not_found"
        assert (await my_payouts(s, d))[0]["state"] == "processing"  # bad asks moved nothing
        r = await s.client.post(path, json={}, headers=d)
        assert r.status_code == 200 and r.json()["state"] == "processing", r.text
        [done] = await eventually(
            lambda: my_payouts(s, d), lambda found: found[0]["state"] == "succeeded"
        )
        assert done["confirm_request"] is None
        assert list(wechat.transfer_asks.values()) == [1]
        # each call makes the worker ask WeChat: held to the pace of opening payments
        answers = await asyncio.gather(
            *(s.client.post(path, json={}, headers=d) for _ in range(30))
        )
        assert {r.status_code for r in answers} == {200, 429}
        assert (await s.reconcile()).problems == []


async def test_a_refused_transfer_gives_the_commission_back_once_with_the_reason(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_transfers(serve_with_ledger, tmp_path) as (s, wechat):
        d, code = await earned(s, "dist", OPENID)
        short, short_code = await earned(s, "other", "oOtherOpenid0001")
        wechat.balance_short = True  # refused outright: the merchant's balance is short
        await s.client.post(f"/api/v1/ops/distributors/{short_code}/payouts", headers=s.ops)
        [refused] = await eventually(
            lambda: my_payouts(s, short),
            lambda found: bool(found) and found[0]["state"] == "refused",
        )
        assert refused["detail"].startswith("NOT_ENOUGH")
        assert refused["reason"] == "merchant"  # not the distributor's to fix
        await eventually(lambda: commissions(s, short), lambda c: c["balance_fen"] == 11040)
        wechat.balance_short = False
        await s.client.post(f"/api/v1/ops/distributors/{code}/payouts", headers=s.ops)
        await eventually(
            lambda: my_payouts(s, d),
            lambda found: bool(found) and found[0]["state"] == "processing",
        )
        wechat.finish_transfers(refuse={OPENID})  # accepted, then failed at WeChat
        await s.advance(60)
        [failed] = await eventually(
            lambda: my_payouts(s, d), lambda found: found[0]["state"] == "refused"
        )
        assert "PAYEE_ACCOUNT_ABNORMAL" in failed["detail"] and failed["reason"] == "account"
        await eventually(lambda: commissions(s, d), lambda c: c["balance_fen"] == 11040)
        gw = s.app.state.gateway
        again = await gw.identities.return_payout(failed["payout_id"], code, 11040)
        assert again is False  # given back once, whatever asks again
        await s.ledger_caught_up()
        assert (await commissions(s, d))["balance_fen"] == 11040
        async with signed_in(s, "qian.fin", "finance") as (client, _):
            page = await client.get("/console/distributors")
        assert f'data-payout="{failed["payout_id"]}"' in page.text
        assert "被拒，已退回余额" in page.text and "oU***6o" in page.text
        assert OPENID not in page.text  # personal data masked for ops
        assert (await s.reconcile()).problems == []
        forged = {"type": "payout", "distributor": code, "amount_fen": -11040}
        await gw.runtime.redis.xadd(
            gw.identities.keys.stream, {**forged, "returns": failed["payout_id"]}
        )  # a second give-back, past the script's guard
        named = f"payout {failed['payout_id']}: refused, given back [-11040, -11040]"
        # once the worker applied the forged entry (on a cluster it polls the user pool's
        # stream, so it may not have the moment after the XADD)
        await eventually(s.reconcile, lambda report: named in "\n".join(report.problems))


async def test_the_schedule_pays_everyone_with_a_payee_at_its_slot_once(
    serve_with_ledger: Serve, tmp_path: Path
) -> None:
    async with with_transfers(serve_with_ledger, tmp_path) as (s, wechat):
        d, _ = await earned(s, "dist", OPENID)
        outside, _ = await earned(s, "cash", None)  # no payee: paid outside, by hand
        async with signed_in(s, "li.fin", "finance") as (client, csrf):
            form = {"csrf": csrf, "on": "1", "weekday": "0", "at": "10:00", "minimum": "100"}
            r = await client.post("/console/payouts/schedule", data=form)
            assert r.status_code == 303, r.text
            page = await client.get("/console/distributors")
            assert "下次自动打款：09-21 10:00" in page.text  # two weeks in: the next Monday
        assert await my_payouts(s, d) == []  # the slot has not come
        await s.set_clock("2026-09-21T10:00:05+08:00")  # that Monday, past 10:00
        await eventually(lambda: my_payouts(s, d), lambda found: len(found) == 1, 20)
        assert (await commissions(s, d))["balance_fen"] == 0
        assert (await commissions(s, outside))["balance_fen"] == 11040  # no payee: not paid
        await s.advance(120)
        assert len(await my_payouts(s, d)) == 1 and len(wechat.transfers) == 1  # once a slot
