"""An order's life through the API, with the ledger worker running, on SQLite and PostgreSQL:
payments and the webhook, deadlines on the campaign clock, refunds, fulfilment, the order
center, and a clean reconcile at the end of each story."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select

from server.ledger.engine import create_engine
from server.ledger.schema import refunds
from server.payments.signature import sign
from tests.campaigns import campaign_text, manual_offer
from tests.conftest import PAYMENT_SECRET
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.server_harness import LiveServer, eventually

pytestmark = pytest.mark.usefixtures("ledger_url")


async def _order_of(s: LiveServer, headers: dict[str, str], order_id: str) -> dict[str, Any]:
    return (await s.my_orders(headers))[order_id]


async def assert_clean(s: LiveServer) -> None:
    report = await s.reconcile()
    assert report.problems == [], report.problems


async def test_presale_deposit_then_balance_in_its_window(serve_with_ledger: Serve) -> None:
    # the depositor offer stays shut: the balance is the presale's own ¥248 a box
    async with serve_with_ledger(manual_offer(campaign_text(100, 0, 0))) as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="presale", qty=2)
        deposit = await s.pay(alice, order["order_id"])
        assert (deposit["stage"], deposit["amount_fen"]) == ("deposit", 2 * 5000)
        early = await s.client.post(f"/api/v1/orders/{order['order_id']}/payments", headers=alice)
        assert early.status_code == 409 and early.json()["error"] == "window_closed"
        assert (await s.stock())["pools"]["presale"]["sold"] == 2
        await s.set_clock("2026-09-06T09:00:00+08:00")
        unaddressed = await s.client.post(
            f"/api/v1/orders/{order['order_id']}/payments", headers=alice
        )
        assert unaddressed.status_code == 409
        assert (unaddressed.json()["error"], unaddressed.json()["field"]) == (
            "address_needed",
            "address_id",
        )
        balance = await s.pay(alice, order["order_id"])  # with an address now
        assert (balance["stage"], balance["amount_fen"]) == ("balance", 2 * 24800)
        mine = (await s.my_orders(alice))[order["order_id"]]
        # paid in full; the router may have given it a warehouse already (it has an address)
        assert mine["status"] in ("paid", "allocated") and mine["paid_fen"] == 2 * 29800
        history = [h["status"] for h in mine["history"]]
        assert history[:3] == ["awaiting_payment", "awaiting_balance", "paid"]
        assert history[3:] in ([], ["allocated"])
        await assert_clean(s)


async def test_unpaid_order_expires_and_releases_its_units_once(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        bob = await s.login("bob")
        order = await s.order(bob, mode="direct", qty=3)
        assert (await s.stock())["pools"]["distribution"]["reserved"] == 3
        await s.advance(901)
        await s.wait_for_status(bob, order["order_id"], "expired")
        pools = (await s.stock())["pools"]
        assert (pools["distribution"]["reserved"], pools["distribution"]["remaining"]) == (0, 30)
        late = await s.client.post(f"/api/v1/orders/{order['order_id']}/payments", headers=bob)
        assert late.status_code == 409 and late.json()["error"] == "nothing_to_pay"
        await assert_clean(s)


async def test_payment_after_cancel_is_refunded_never_counted(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        carol = await s.login("carol")
        order = await s.order(carol, mode="direct", qty=1)
        payment = await s.open_payment(carol, order["order_id"])
        await s.advance(901)
        await s.wait_for_status(carol, order["order_id"], "expired")
        r = await s.notify(payment)
        assert r.status_code == 200 and r.json()["result"] == "refunded"
        mine = (await s.my_orders(carol))[order["order_id"]]
        assert (mine["status"], mine["paid_fen"], mine["refunded_fen"]) == ("expired", 36800, 36800)
        assert (await s.stock())["pools"]["distribution"]["sold"] == 0
        again = await s.notify(payment)
        assert again.json()["result"] == "duplicate"
        report = await s.reconcile()
        assert report.problems == [] and (report.paid_fen, report.kept_fen) == (36800, 0)


async def test_missed_balance_forfeits_the_deposit(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        dan = await s.login("dan")
        order = await s.order(dan, mode="presale", qty=1)
        await s.pay(dan, order["order_id"])
        await s.set_clock("2026-09-16T00:00:01+08:00")
        mine = await s.wait_for_status(dan, order["order_id"], "forfeited")
        assert (mine["paid_fen"], mine["refunded_fen"]) == (5000, 0)
        pools = (await s.stock())["pools"]
        assert pools["presale"]["sold"] == 0
        # presale closed on Sept 6, so the released unit followed the reserve into group
        assert pools["group"]["moved_in"] == 20
        report = await s.reconcile()
        assert report.problems == [] and report.kept_fen == 5000


async def test_group_below_minimum_fails_and_refunds(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(clock_start=GROUP_OPEN) as s:
        leader, friend = await s.login("leader"), await s.login("friend")
        opened = await s.order(leader, mode="group", qty=1, open_group=True)
        joined = await s.order(friend, mode="group", qty=2, group_code=opened["group_code"])
        await s.pay(leader, opened["order_id"])
        await s.pay(friend, joined["order_id"])
        group = (await s.client.get(f"/api/v1/groups/{opened['group_code']}")).json()
        assert (group["members"], group["paid"], group["status"]) == (2, 2, "open")
        await s.advance(86_401)
        await s.wait_for_status(friend, joined["order_id"], "group_failed")
        lead = await s.wait_for_status(leader, opened["order_id"], "group_failed")
        assert lead["refunded_fen"] == lead["paid_fen"] == 32800
        assert (await s.client.get(f"/api/v1/groups/{opened['group_code']}")).json()[
            "status"
        ] == "failed"
        assert (await s.stock())["pools"]["group"]["sold"] == 0
        report = await s.reconcile()
        assert report.problems == [] and report.kept_fen == 0


async def test_group_that_reaches_the_minimum_forms(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(clock_start=GROUP_OPEN) as s:
        leader = await s.login("leader")
        opened = await s.order(leader, mode="group", qty=1, open_group=True)
        await s.pay(leader, opened["order_id"])
        for i in range(2):
            member = await s.login(f"m{i}")
            joined = await s.order(member, mode="group", qty=1, group_code=opened["group_code"])
            await s.pay(member, joined["order_id"])
        await s.advance(86_401)
        code = opened["group_code"]
        group = await eventually(lambda: s.group(code), lambda g: g["status"] != "open")
        assert (group["status"], group["paid"], group["tier_min_members"]) == ("formed", 3, 3)
        assert (await s.my_orders(leader))[opened["order_id"]]["status"] == "paid"
        await assert_clean(s)


async def test_ops_refund_fulfilment_and_after_sale(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        erin = await s.login("erin")
        kept = await s.order(erin, mode="direct", qty=1)
        refunded = await s.order(erin, mode="direct", qty=2)
        shipped_then_refunded = await s.order(erin, mode="direct", qty=1)
        for order in (kept, refunded, shipped_then_refunded):
            await s.pay(erin, order["order_id"])
        r = await s.client.post(
            f"/api/v1/ops/orders/{refunded['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200 and r.json()["status"] == "refunded"
        assert (await s.stock())["pools"]["distribution"]["sold"] == 2

        async def step(order_id: str, status: str, **extra: str) -> int:
            url = f"/api/v1/ops/orders/{order_id}/fulfilment"
            return (
                await s.client.post(url, json={"status": status, **extra}, headers=s.ops)
            ).status_code

        assert await step(kept["order_id"], "shipped") == 409  # a warehouse first
        assert await step(kept["order_id"], "allocated", warehouse="WH-SH") == 409  # by rules
        routed = await s.ship_to(erin, kept["order_id"])
        assert routed["route"] == [{"warehouse": "shanghai", "units": 1}]
        assert await step(kept["order_id"], "shipped") == 200
        assert await step(kept["order_id"], "delivered") == 200
        await s.ship_to(erin, shipped_then_refunded["order_id"])
        assert await step(shipped_then_refunded["order_id"], "shipped") == 200
        r = await s.client.post(
            f"/api/v1/ops/orders/{shipped_then_refunded['order_id']}/refund",
            json={"reason": "damaged"},
            headers=s.ops,
        )
        assert r.status_code == 200 and r.json()["refunded_fen"] == 36800
        assert (await s.stock())["pools"]["distribution"]["sold"] == 2  # shipped goods stay sold

        await s.advance(7 * 86_400 + 1)
        done = await s.wait_for_status(erin, kept["order_id"], "completed")
        assert done["warehouse"] == "shanghai"
        houses = await s.client.get("/api/v1/ops/warehouses?campaign_id=mid-autumn", headers=s.ops)
        shanghai = houses.json()["warehouses"][0]
        assert (shanghai["shipped"], shanghai["allocated"]) == (2, 0)
        await s.ledger_caught_up()
        listed = await s.client.get(
            "/api/v1/ops/orders?status=refunded&user_id=erin", headers=s.ops
        )
        assert {o["order_id"] for o in listed.json()["orders"]} == {
            refunded["order_id"],
            shipped_then_refunded["order_id"],
        }
        report = await s.reconcile()
        assert report.problems == [] and report.kept_fen == 36800


async def test_order_center_lists_every_mode(serve_with_ledger: Serve) -> None:
    text = campaign_text(100, 0, 0)
    async with serve_with_ledger(text) as s:
        fay = await s.login("fay")
        presale = await s.order(fay, mode="presale", qty=1)
        direct = await s.order(fay, mode="direct", qty=1, ref=await s.community())
        await s.set_clock(GROUP_OPEN)
        group = await s.order(fay, mode="group", qty=1, open_group=True)
        other = await s.login("gus")
        await s.order(other, mode="direct", qty=1)
        mine = await s.my_orders(fay)
        assert set(mine) == {presale["order_id"], direct["order_id"], group["order_id"]}
        assert {o["mode"] for o in mine.values()} == {"presale", "direct", "group"}
        await assert_clean(s)


async def test_webhook_refuses_bad_notices(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        hal = await s.login("hal")
        order = await s.order(hal, mode="direct", qty=1)
        payment = await s.open_payment(hal, order["order_id"])
        url = "/api/v1/payments/webhook"
        good = {"payment_id": payment["payment_id"], "amount_fen": 36800, "status": "succeeded"}
        import orjson

        body = orjson.dumps(good)
        cases = [
            ({}, body, 401, "X-Signature"),
            ({"X-Signature": "t=1,v1=00"}, body, 401, "X-Signature"),
            ({"X-Signature": sign("wrong-secret-0123456789", body)}, body, 401, "X-Signature"),
            (
                {"X-Signature": sign(PAYMENT_SECRET, body, int(time.time()) - 3600)},
                body,
                401,
                "X-Signature",
            ),
        ]
        wrong_amount = orjson.dumps({**good, "amount_fen": 1})
        unknown = orjson.dumps({**good, "payment_id": "mid-autumn~0123456789abcdef"})
        bad_status = orjson.dumps({**good, "status": "maybe"})
        for raw, status, field in (
            (wrong_amount, 422, "amount_fen"),
            (unknown, 404, "payment_id"),
            (bad_status, 422, "status"),
        ):
            cases.append(({"X-Signature": sign(PAYMENT_SECRET, raw)}, raw, status, field))
        for headers, raw, status, field in cases:
            r = await s.client.post(url, content=raw, headers=headers)
            assert (r.status_code, r.json()["field"]) == (status, field), r.text
        assert (await s.my_orders(hal))[order["order_id"]]["paid_fen"] == 0
        failed = await s.notify(payment, "failed")
        assert failed.json()["result"] == "failed"
        retry = await s.pay(hal, order["order_id"])
        assert retry["payment_id"] != payment["payment_id"]
        await assert_clean(s)


async def test_ten_paying_members_reach_the_lower_tier_and_get_the_difference_back(
    serve_with_ledger: Serve, ledger_url: str
) -> None:
    async with serve_with_ledger(clock_start=GROUP_OPEN) as s:
        members = [await s.login(f"t{i}") for i in range(10)]
        opened = await s.order(members[0], mode="group", qty=1, open_group=True)
        orders = [opened]
        for headers in members[1:]:
            orders.append(
                await s.order(headers, mode="group", qty=1, group_code=opened["group_code"])
            )
        for headers, order in zip(members, orders, strict=True):
            await s.pay(headers, order["order_id"])
        assert (await s.group(opened["group_code"]))["price_fen"] == 30800
        await s.advance(86_401)
        for headers, order in zip(members, orders, strict=True):
            oid = order["order_id"]
            got = await eventually(
                partial(_order_of, s, headers, oid), lambda o: o["refunded_fen"] > 0
            )
            assert (got["status"], got["paid_fen"], got["refunded_fen"]) == ("paid", 32800, 2000)
        report = await s.reconcile()
        assert report.problems == []
        assert (report.paid_fen, report.refunded_fen, report.kept_fen) == (328000, 20000, 308000)
        engine = create_engine(ledger_url)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(func.count(), func.sum(refunds.c.amount_fen)))).one()
        await engine.dispose()
        assert tuple(rows) == (10, 20000)


async def test_auto_completion_forms_a_group_within_its_cap(serve_with_ledger: Serve) -> None:
    text = (
        campaign_text(100, 0, 0)
        .replace("auto_complete = false", "auto_complete = true")
        .replace("auto_complete_max_missing = 0", "auto_complete_max_missing = 1")
    )
    async with serve_with_ledger(text, clock_start=GROUP_OPEN) as s:
        pairs = []
        for leader_name, friends in (("solo", 0), ("duo", 1)):
            leader = await s.login(leader_name)
            opened = await s.order(leader, mode="group", qty=1, open_group=True)
            await s.pay(leader, opened["order_id"])
            for i in range(friends):
                friend = await s.login(f"{leader_name}-f{i}")
                joined = await s.order(friend, mode="group", qty=1, group_code=opened["group_code"])
                await s.pay(friend, joined["order_id"])
            pairs.append(opened["group_code"])
        await s.advance(86_401)
        solo = await eventually(lambda: s.group(pairs[0]), lambda g: g["status"] != "open")
        duo = await eventually(lambda: s.group(pairs[1]), lambda g: g["status"] != "open")
        assert (solo["status"], duo["status"]) == ("failed", "formed")  # 2 missing > cap of 1
        await assert_clean(s)
