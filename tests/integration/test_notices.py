"""Notices on the campaign clock, through the API and the real worker: the depositor offer
opening by itself, balance reminders, group nudges and outcomes, parcels; a viewer's opt-out
and hourly rate; the signed webhook to the sandbox receiver, each notice kept once."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import select

from server.ledger.schema import notices
from server.store.keys import SandboxKeys
from tests.campaigns import campaign_text, with_notifications
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.integration.test_console_roles import signed_in
from tests.server_harness import LiveServer, eventually, receiving

INBOX = "/api/v1/me/notifications"
SETTINGS = "/api/v1/me/notice-settings"


async def inbox(s: LiveServer, headers: dict[str, str]) -> list[str]:
    found = (await s.client.get(INBOX, headers=headers)).json()["notifications"]
    return [n["text"] for n in reversed(found)]  # oldest first


async def outbox(s: LiveServer) -> list[dict[str, Any]]:
    query = select(notices).order_by(notices.c.planned_at_ms, notices.c.notice_key)
    async with s.app.state.gateway.ledger.connect() as conn:
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


async def settled(s: LiveServer, count: int) -> list[dict[str, Any]]:
    """The outbox once it holds `count` notices, none pending."""
    return await eventually(
        lambda: outbox(s),
        lambda rows: len(rows) == count and all(r["state"] != "pending" for r in rows),
    )


async def received(s: LiveServer) -> dict[str, dict[str, Any]]:
    """What the sandbox receiver kept: notice id -> the webhook's body."""
    keys = SandboxKeys(s.app.state.gateway.settings.key_prefix)
    kept = await s.app.state.gateway.runtime.redis.hgetall(keys.notices)
    return {k.decode(): orjson.loads(v) for k, v in kept.items()}


async def test_the_offer_opens_on_time_and_reminders_respect_the_opt_out(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(campaign_text(100, 0, 0), notify_sandbox=True) as s:
        amy, bo, cy = [await s.login(name) for name in ("amy", "bo", "cy")]
        deposits = {}
        for name, h in (("amy", amy), ("bo", bo), ("cy", cy)):
            order = await s.order(h, mode="presale", qty=1)
            await s.pay(h, order["order_id"])
            deposits[name] = order["order_id"]
        assert (await s.client.get(SETTINGS, headers=bo)).json() == {"promotions": True}
        off = await s.client.put(SETTINGS, json={"promotions": False}, headers=bo)
        assert off.status_code == 200 and off.json() == {"promotions": False}
        bad = await s.client.put(SETTINGS, json={"promotions": "no"}, headers=bo)
        assert bad.status_code == 422 and bad.json()["field"] == "promotions"

        await s.set_clock("2026-09-06T00:00:01+08:00")  # nobody clicks: the offer opens
        rows = await settled(s, 3)
        assert {(r["user_id"], r["kind"], r["state"], r["reason"]) for r in rows} == {
            ("amy", "depositor_offer", "sent", None),
            ("cy", "depositor_offer", "sent", None),
            ("bo", "depositor_offer", "skipped", "opted_out"),
        }
        assert "¥288" in (await inbox(s, amy))[0]
        assert await inbox(s, bo) == []
        kept = await received(s)
        assert sorted(body["user"] for body in kept.values()) == ["amy", "cy"]
        assert all("¥238" in body["text"] for body in kept.values())

        await s.pay(cy, deposits["cy"])  # cy pays the balance: no reminder for cy
        await s.set_clock("2026-09-15T00:00:01+08:00")  # 24 h before the balance closes
        rows = await settled(s, 5)
        assert {(r["notice_key"], r["state"]) for r in rows[3:]} == {
            (f"balance:{deposits['amy']}:24", "sent"),
            (f"balance:{deposits['bo']}:24", "skipped"),
        }
        reminder = (await inbox(s, amy))[-1]
        assert "24 小时" in reminder and "支付率已达 100%" in reminder
        await s.set_clock("2026-09-15T22:00:01+08:00")
        rows = await settled(s, 7)
        assert f"balance:{deposits['amy']}:2" in {r["notice_key"] for r in rows[5:]}
        assert len(await inbox(s, amy)) == 3 and len(await received(s)) == 4
        assert await inbox(s, bo) == [] and await inbox(s, cy) == [kept_text(kept, "cy")]


def kept_text(kept: dict[str, dict[str, Any]], user: str) -> str:
    (text,) = [body["text"] for body in kept.values() if body["user"] == user]
    return str(text)


async def test_group_nudges_are_rate_limited_and_outcomes_always_go(
    serve_with_ledger: Serve,
) -> None:
    text = with_notifications(campaign_text(100, 0, 0), promotions_per_hour=1)
    async with serve_with_ledger(text, clock_start=GROUP_OPEN, notify_sandbox=True) as s:
        lead, ann, ben, solo = [await s.login(n) for n in ("lead", "ann", "ben", "solo")]
        opened = await s.order(lead, mode="group", qty=1, open_group=True)
        code = opened["group_code"]
        await s.pay(lead, opened["order_id"])
        await settled(s, 1)  # "还差 2 人" to the leader
        joined = await s.order(ann, mode="group", qty=1, group_code=code)
        await s.pay(ann, joined["order_id"])
        rows = await settled(s, 3)  # "还差 1 人" to both: the leader is past the hourly rate
        assert [(r["user_id"], r["notice_key"], r["state"], r["reason"]) for r in rows] == [
            ("lead", f"group_short:{code}:2:lead", "sent", None),
            ("ann", f"group_short:{code}:1:ann", "sent", None),
            ("lead", f"group_short:{code}:1:lead", "inbox_only", "rate"),
        ]
        assert "还差 1 人成团" in (await inbox(s, lead))[-1]
        third = await s.order(ben, mode="group", qty=1, group_code=code)
        await s.pay(ben, third["order_id"])
        alone = await s.order(solo, mode="group", qty=1, open_group=True)
        await s.pay(solo, alone["order_id"])
        await settled(s, 4)  # solo: "还差 2 人"

        await s.set_clock("2026-09-07T10:00:01+08:00")  # both groups' 24 h are over
        rows = await settled(s, 8)
        outcomes = {(r["user_id"], r["kind"], r["state"]) for r in rows[4:]}
        assert outcomes == {
            ("lead", "group_formed", "sent"),
            ("ann", "group_formed", "sent"),
            ("ben", "group_formed", "sent"),
            ("solo", "group_failed", "sent"),
        }
        assert "拼团成功" in (await inbox(s, lead))[-1]
        assert "¥328 将原路退回" in (await inbox(s, solo))[-1]

        order_id = opened["order_id"]
        await s.ship_to(lead, order_id)
        fulfil = f"/api/v1/ops/orders/{order_id}/fulfilment"
        r = await s.client.post(fulfil, json={"status": "shipped"}, headers=s.ops)
        assert r.status_code == 200, r.text
        rows = await settled(s, 9)
        assert rows[8]["notice_key"] == f"shipped:{order_id}"
        r = await s.client.post(fulfil, json={"status": "delivered"}, headers=s.ops)
        rows = await settled(s, 10)
        assert rows[9]["notice_key"] == f"delivered:{order_id}"
        assert "已签收" in (await inbox(s, lead))[-1]
        kept = await received(s)
        assert len(kept) == 9  # every notice but the one held back by the rate
        assert f"mid-autumn:group_short:{code}:1:lead" not in kept


async def test_the_sandbox_receiver_checks_the_signature(serve: Serve) -> None:
    async with serve(notify_sandbox=True) as s:
        body = orjson.dumps(
            {
                "id": "x",
                "campaign_id": "mid-autumn",
                "user": "u",
                "kind": "k",
                "text": "字",
                "at_ms": 1,
            }
        )
        r = await s.client.post(
            "/api/v1/sandbox/notify", content=body, headers={"X-Signature": "t=1,v1=00"}
        )
        assert r.status_code == 401 and r.json()["field"] == "X-Signature"
        assert await received(s) == {}
    async with serve() as s:  # off unless configured
        r = await s.client.post("/api/v1/sandbox/notify", content=body)
        assert r.status_code == 404


async def test_ops_see_what_the_channel_refused_and_send_it_again(
    serve_with_ledger: Serve,
) -> None:
    answers = {"status": 400}

    async def gateway_of_sms(request: web.Request) -> web.Response:
        return web.json_response({}, status=answers["status"])

    async with receiving(gateway_of_sms) as url:
        async with serve_with_ledger(notify_url=url) as s:
            h = await s.login("amy")
            order = await s.order(h, mode="presale", qty=1)
            await s.pay(h, order["order_id"])
            await s.set_clock("2026-09-06T00:00:01+08:00")
            (row,) = await settled(s, 1)
            assert (row["state"], row["reason"]) == ("failed", "webhook: HTTP 400")
            assert "¥288" in (await inbox(s, h))[0]  # the inbox has it all the same
            async with signed_in(s, "qian.li", "finance") as (client, csrf):
                page = await client.get("/console/notices")
                assert "HTTP 400" in page.text and "推送失败" in page.text
                assert "重新推送" not in page.text  # finance looks; operators act
            answers["status"] = 200
            async with signed_in(s, "li.yun", "operator") as (client, csrf):
                again = await client.post("/console/notices/retry", data={"csrf": csrf})
                assert again.status_code == 303
                (row,) = await settled(s, 1)
                assert row["state"] == "sent"
                page = await client.get("/console/notices")
                assert "没有失败的推送" in page.text
            assert len(await inbox(s, h)) == 1  # sent again, kept once
