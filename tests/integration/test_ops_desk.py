"""The broadcast desk's actions through the API: the kill switch, a scheduled presale -> group
move, windows opened and closed early, versions and rollback, and every action in the audit
log (written to SQL by the worker, exactly once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa

from server.ledger.schema import audit_log
from tests.campaigns import CANONICAL, manual_offer
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.server_harness import LiveServer, eventually

ORDERS = "/api/v1/campaigns/mid-autumn/orders"
DESK = "/api/v1/ops/campaigns/mid-autumn"


async def _audit(
    s: LiveServer, enough: int | Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    async def rows() -> list[dict[str, Any]]:
        async with s.app.state.gateway.ledger.connect() as conn:
            result = await conn.execute(sa.select(audit_log).order_by(audit_log.c.stream_id))
            return [dict(row._mapping) for row in result]

    if isinstance(enough, int):
        count = enough
        return await eventually(rows, lambda found: len(found) >= count)
    return await eventually(rows, enough)


async def test_a_paused_mode_refuses_orders_until_resumed(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        h = await s.login("alice")
        paused = await s.client.post(f"{DESK}/modes/presale/pause", json={}, headers=s.ops)
        assert paused.status_code == 200 and paused.json() == {"paused": ["presale"]}
        refused = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert refused.status_code == 409 and refused.json()["error"] == "mode_paused"
        direct = await s.client.post(ORDERS, json={"mode": "direct", "qty": 1}, headers=h)
        assert direct.status_code == 201  # only the paused mode stops
        quote = (await s.client.get("/api/v1/campaigns/mid-autumn/quote", headers=h)).json()
        opened = {o["mode"]: o["open"] for o in quote["options"]}
        assert opened["presale"] is False and opened["direct"] is True
        resumed = await s.client.post(f"{DESK}/modes/presale/resume", json={}, headers=s.ops)
        assert resumed.json() == {"paused": []}
        again = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert again.status_code == 201
        rows = await _audit(s, 2)
        pause, resume = (r for r in rows if r["action"].startswith("desk."))
        assert (pause["action"], pause["actor"], pause["role"]) == ("desk.pause", "api", "admin")
        assert orjson.loads(pause["before"]) == [] and orjson.loads(pause["after"]) == ["presale"]
        assert resume["action"] == "desk.resume" and orjson.loads(resume["after"]) == []


async def test_pausing_a_mode_the_campaign_does_not_sell_names_the_field(serve: Serve) -> None:
    async with serve(CANONICAL) as s:
        unknown = await s.client.post(f"{DESK}/modes/barter/pause", json={}, headers=s.ops)
        assert unknown.status_code == 404 and unknown.json()["field"] == "mode"
        assert (await s.client.post(ORDERS.replace("orders", "quote"))).status_code == 405


async def test_the_scheduled_move_opens_the_offer_at_its_time(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(manual_offer(CANONICAL)) as s:
        h = await s.login("alice")
        order = await s.order(h, mode="presale", qty=1)
        await s.pay(h, order["order_id"])
        at = "2026-09-06T12:00:00+08:00"
        early = await s.client.post(
            f"{DESK}/presale-to-group", json={"at": "2026-09-02T12:00:00+08:00"}, headers=s.ops
        )
        assert early.status_code == 422 and early.json()["field"] == "at"
        r = await s.client.post(f"{DESK}/presale-to-group", json={"at": at}, headers=s.ops)
        assert r.status_code == 202 and r.json()["result"] == "scheduled"
        await s.set_clock(GROUP_OPEN)
        inbox = "/api/v1/me/notifications"
        assert not [n for n in (await s.client.get(inbox, headers=h)).json()["notifications"]]
        await s.set_clock("2026-09-06T12:00:01+08:00")

        async def notices() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (await s.client.get(inbox, headers=h)).json()[
                "notifications"
            ]
            return found

        sent = await eventually(notices, lambda found: len(found) == 1)
        assert "定金" in sent[0]["text"]
        made = ("desk.presale_to_group", "schedule")  # the sweeper's row may come last
        rows = await _audit(s, lambda found: made in [(r["action"], r["actor"]) for r in found])
        actions = [(r["action"], r["actor"]) for r in rows]
        assert ("desk.schedule_presale_to_group", "api") in actions


async def test_closing_a_window_early_is_a_new_version_that_rolls_back(serve: Serve) -> None:
    async with serve(CANONICAL) as s:
        h = await s.login("alice")
        closed = await s.client.post(f"{DESK}/modes/presale/close", json={}, headers=s.ops)
        assert closed.status_code == 200 and closed.json() == {"version": 2}
        refused = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert refused.status_code == 409 and refused.json()["error"] == "window_closed"
        twice = await s.client.post(f"{DESK}/modes/presale/close", json={}, headers=s.ops)
        assert twice.status_code == 409 and twice.json()["error"] == "window_closed"
        gw = s.app.state.gateway
        versions = await gw.runtime.campaign_versions("mid-autumn")
        assert sorted(versions) == [1, 2]
        from server.ops.audit import AUTOMATION
        from server.ops.campaigns import rollback

        live = await rollback(gw, AUTOMATION, "mid-autumn", 1)
        assert live.version == 3
        again = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert again.status_code == 201
