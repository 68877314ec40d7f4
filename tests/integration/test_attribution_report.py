"""The attribution report's SQL against counts made in plain Python from the same rows:
random ledgers (orders in every mode and status with random touches and links, views,
groups formed and failed, a random recruitment tree), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.attribution import CHANNELS, channel_of
from server.ledger.attribution_queries import BALANCE_PAID, report
from server.ledger.schema import groups, link_visits, links, orders

USERS = [f"u{i}" for i in range(8)]
DISTRIBUTORS = ["DAAAAAA1", "DAAAAAA2", "DAAAAAA3", "DAAAAAA4"]
COMMUNITIES = ["CBBBBBB1", "CBBBBBB2"]
GROUPS = ["G0001", "G0002", "G0003"]
MATERIALS = ["M0000000000000001", "M0000000000000002"]  # shared by a distributor
SOURCES = [
    None,
    *(f"ref:{d}" for d in DISTRIBUTORS + COMMUNITIES),
    *(f"material:{m}" for m in MATERIALS),
    *(f"group:{g}" for g in GROUPS),
]
STATUSES = ["awaiting_payment", "awaiting_balance", "paid", "shipped", "expired", "refunded"]

an_order = st.fixed_dictionaries(
    {
        "user": st.sampled_from(USERS),
        "mode": st.sampled_from(["presale", "group", "direct"]),
        "status": st.sampled_from(STATUSES),
        "paid": st.sampled_from([0, 5000, 29800]),
        "refunded": st.sampled_from([0, 0, 1000]),
        "ref": st.sampled_from([None, *DISTRIBUTORS, *COMMUNITIES]),
        "group": st.sampled_from([None, *GROUPS]),
        "first": st.sampled_from(SOURCES),
        "last": st.sampled_from(SOURCES),
    }
)
a_ledger = st.fixed_dictionaries(
    {
        "orders": st.lists(an_order, max_size=40),
        "views": st.lists(
            st.tuples(st.sampled_from(USERS), st.sampled_from(SOURCES[1:])), max_size=30
        ),
        "groups": st.lists(
            st.tuples(st.sampled_from(["open", "formed", "failed"]), st.integers(1, 12)),
            min_size=3,
            max_size=3,
        ),
        "uplines": st.lists(st.sampled_from([None, 0, 1, 2]), min_size=4, max_size=4),
    }
)


def rows_of(cid: str, ledger: dict[str, Any]) -> dict[Any, list[dict[str, Any]]]:
    order_rows = []
    for n, o in enumerate(ledger["orders"]):
        order_rows.append(
            {
                "order_id": f"{cid}.{n}", "campaign_id": cid, "user_id": o["user"],
                "mode": o["mode"], "qty": 1, "status": o["status"], "pool": "p", "held": "sold",
                "alloc": "[]", "unit_price_fen": 29800, "amount_due_fen": 29800,
                "paid_fen": o["paid"], "refunded_fen": min(o["refunded"], o["paid"]),
                "group_code": o["group"], "ref": o["ref"], "first_touch": o["first"],
                "last_touch": o["last"], "created_at_ms": n, "updated_at_ms": n,
                "stream_ms": n, "stream_seq": 0, "snapshot": "{}",
            }
        )  # fmt: skip
    view_rows = [
        {"campaign_id": cid, "stream_id": f"{n}-0", "source": source, "user_id": user,
         "kind": "view", "day": "2026-09-06", "at_ms": n}
        for n, (user, source) in enumerate(ledger["views"])
    ]  # fmt: skip
    group_rows = [
        {"campaign_id": cid, "code": code, "leader": "u0", "status": status, "members": paid,
         "paid": paid, "units": paid, "opened_at_ms": 0, "snapshot": "{}"}
        for code, (status, paid) in zip(GROUPS, ledger["groups"], strict=True)
    ]  # fmt: skip
    tag = cid[-6:]  # link codes are global: this example's own
    link_rows = [
        {"code": f"D{tag}{i}", "kind": "distributor", "user_id": f"d{i}",
         "upline": None if up is None or up >= i else f"D{tag}{up}",
         "name": None, "status": "active", "created_at_ms": 0, "campaign_id": cid}
        for i, up in enumerate(ledger["uplines"])
    ]  # fmt: skip
    return {orders: order_rows, link_visits: view_rows, groups: group_rows, links: link_rows}


def depth_of(rows: list[dict[str, Any]]) -> int:
    up = {r["code"]: r["upline"] for r in rows}

    def depth(code: str) -> int:
        return 1 if up[code] is None else 1 + depth(up[code])

    return max((depth(c) for c in up), default=0)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ledger=a_ledger)
async def test_the_report_counts_what_the_rows_say(
    ledger_engine: AsyncEngine, ledger: dict[str, Any]
) -> None:
    cid = f"c{uuid.uuid4().hex[:10]}"
    rows = rows_of(cid, ledger)
    async with ledger_engine.begin() as conn:
        for table, found in rows.items():
            if found:
                await conn.execute(table.insert(), found)
    got = await report(ledger_engine, cid)

    placed = rows[orders]
    paid = [o for o in placed if o["paid_fen"] > 0]

    def users(mode: str, extra: Any = lambda o: True) -> set[str]:
        return {o["user_id"] for o in paid if o["mode"] == mode and extra(o)}

    def via(o: dict[str, Any]) -> bool:
        touches = (o["first_touch"] or "", o["last_touch"] or "")
        return any(t.startswith("ref:D") for t in touches) or (o["ref"] or "").startswith("D")

    dep, grp, dire = users("presale"), users("group"), users("direct")
    assert (
        got.overlap.depositors, got.overlap.depositors_in_groups, got.overlap.group_buyers,
        got.overlap.group_buyers_via_distributors, got.overlap.direct_buyers,
        got.overlap.in_all_three,
    ) == (len(dep), len(dep & grp), len(grp), len(users("group", via)), len(dire),
          len(dep & grp & dire))  # fmt: skip

    views = Counter(v["source"] for v in rows[link_visits])
    for funnel in got.channels:
        mine = [o for o in placed if channel_of(o["last_touch"]) == funnel.source]
        assert funnel.views == sum(n for s, n in views.items() if channel_of(s) == funnel.source)
        assert funnel.orders == len(mine)
        assert funnel.paid == sum(o["paid_fen"] > 0 for o in mine)
        assert funnel.balance_paid == sum(
            o["mode"] == "presale" and o["status"] in BALANCE_PAID for o in mine
        )
    assert [f.source for f in got.channels] == list(CHANNELS)
    by_source = {f.source: f for f in got.sources}
    touched = {o["last_touch"] for o in placed if o["last_touch"]} | set(views)
    assert set(by_source) == touched
    for source, funnel in by_source.items():
        assert funnel.orders == sum(o["last_touch"] == source for o in placed)
        assert funnel.views == views[source]

    closed = [g for g in rows[groups] if g["status"] != "open"]
    assert got.groups.formed == sum(g["status"] == "formed" for g in closed)
    assert got.groups.failed == sum(g["status"] == "failed" for g in closed)
    assert dict(got.groups.sizes) == dict(
        Counter(g["paid"] for g in rows[groups] if g["status"] == "formed")
    )
    in_groups = [o for o in placed if o["group_code"]]
    assert got.groups.opened == len({o["group_code"] for o in in_groups})
    assert got.groups.sign_ups == len({o["user_id"] for o in in_groups})

    assert got.distributors.recruited == len(DISTRIBUTORS)
    active = {o["ref"] for o in paid if (o["ref"] or "").startswith("D")}
    assert got.distributors.active == len(active)
    assert got.distributors.tree_depth == depth_of(rows[links])

    kept: Counter[str] = Counter()
    first: Counter[str] = Counter()
    for o in paid:
        kept[o["mode"]] += o["paid_fen"] - o["refunded_fen"]
        first[channel_of(o["first_touch"])] += o["paid_fen"] - o["refunded_fen"]
    assert dict(got.gmv_by_mode) == dict(kept)
    assert dict(got.gmv_by_first_touch) == dict(first)
