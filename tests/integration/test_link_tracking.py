"""Tracked share links: record_visit.lua against the plain model (domain/touches.py), and
through the API: views and clicks once a viewer, source and day; each order's first and
last touch beside its commission attribution, which stays the link it came through; the
ledger's link_visits; the distributor's own figures."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.demo_reset import delete_keys
from server.domain.touches import Kind, Touches
from server.ledger.schema import commissions, link_visits, orders
from server.store.connection import connect
from server.store.keys import CampaignKeys
from server.store.orders import OrderStore
from server.store.scripts import Scripts
from server.store.stock import text
from tests.integration.conftest import Serve
from tests.server_harness import LiveServer

visits = st.lists(
    st.tuples(
        st.sampled_from(["2026-09-06", "2026-09-07"]),
        st.sampled_from(["u1", "u2", "u3"]),
        st.sampled_from(["ref:DAAAAAAA", "ref:CBBBBBBB", "group:G1234"]),
        st.sampled_from(["view", "click"]),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=visits)
async def test_the_script_keeps_what_the_model_keeps(
    redis_url: str, script: list[tuple[str, str, str, Kind]]
) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    redis = connect(redis_url, timeout_s=10)
    try:
        store = OrderStore(redis, Scripts.register(redis), CampaignKeys(prefix, "mid-autumn"))
        model = Touches()
        for day, user, source, kind in sorted(script, key=lambda v: v[0]):  # days go forward
            counted = await store.record_visit(1, user, source, kind, day)
            assert counted == model.visit(day, user, source, kind)
        sources = ["ref:DAAAAAAA", "ref:CBBBBBBB", "group:G1234"]
        stats = await store.link_stats(sources)
        for source in sources:
            for kind in ("view", "click"):
                assert stats[source][kind] == model.counts.get((source, kind), 0)
        kept = await redis.hgetall(store.keys.touches)
        assert {text(u): text(v) for u, v in kept.items()} == {
            user: f"{model.first[user]}\t{model.last[user]}" for user in model.first
        }
    finally:
        await delete_keys(redis, prefix)
        await redis.aclose()


async def visit(s: LiveServer, h: dict[str, str], kind: str, **link: str) -> dict[str, Any]:
    r = await s.client.post(
        "/api/v1/campaigns/mid-autumn/visits", json={"kind": kind, **link}, headers=h
    )
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def test_first_and_last_touch_sit_beside_the_attribution(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        dist_h = await s.login("dist")
        code = await s.become_distributor(dist_h)
        community = await s.community("楼下团")
        amy = await s.login("amy")
        assert (await visit(s, amy, "view", ref=community))["counted"] is True
        assert (await visit(s, amy, "view", ref=code)) == {"source": f"ref:{code}", "counted": True}
        assert (await visit(s, amy, "view", ref=code))["counted"] is False  # once a day
        assert (await visit(s, amy, "click", ref=code))["counted"] is True
        bought = await s.order(amy, mode="direct", qty=2, ref=code)
        await s.pay(amy, bought["order_id"])
        bo = await s.login("bo")
        plain = await s.order(bo, mode="direct", qty=1)  # no link at all

        await s.advance(86_400)  # the next day counts again
        assert (await visit(s, amy, "view", ref=code))["counted"] is True
        await s.ledger_caught_up()
        async with s.app.state.gateway.ledger.connect() as conn:
            rows = {r.order_id: r for r in (await conn.execute(select(orders))).all()}
            lines = (await conn.execute(select(commissions))).all()
            counted = (await conn.execute(select(link_visits))).all()
        order = rows[bought["order_id"]]
        assert (order.first_touch, order.last_touch) == (f"ref:{community}", f"ref:{code}")
        assert order.ref == code and {line.distributor for line in lines} == {code}
        assert (rows[plain["order_id"]].first_touch, rows[plain["order_id"]].last_touch) == (
            None,
            None,
        )
        assert sorted((v.source, v.kind, v.day) for v in counted) == sorted(
            [
                (f"ref:{code}", "click", "2026-09-01"),
                (f"ref:{code}", "view", "2026-09-01"),
                (f"ref:{code}", "view", "2026-09-02"),
                (f"ref:{community}", "view", "2026-09-01"),
            ]
        )
        me = (await s.client.get("/api/v1/distributors/me", headers=dist_h)).json()
        assert me["link"] == {"views": 2, "clicks": 1}


async def test_a_visit_names_a_link_that_exists(serve: Serve) -> None:
    async with serve() as s:
        h = await s.login("amy")
        url = "/api/v1/campaigns/mid-autumn/visits"
        for body, field, status in [
            ({"kind": "view"}, "ref", 422),
            ({"kind": "view", "ref": "DAAAAAAA", "group": "G1234"}, "ref", 422),
            ({"kind": "look", "ref": "DAAAAAAA"}, "kind", 422),
            ({"kind": "view", "ref": "DAAAAAAA"}, "ref", 404),
            ({"kind": "view", "group": "NOPE1234"}, "group", 404),
        ]:
            r = await s.client.post(url, json=body, headers=h)
            assert (r.status_code, r.json()["field"]) == (status, field), body
        assert (
            await s.client.post(url, json={"kind": "view", "ref": "DAAAAAAA"})
        ).status_code == 401
